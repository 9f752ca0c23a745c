/**
 * The lock of a journal: `<journal>.lock`, a file naming the process that
 * holds the journal. Exactly one process holds it under every interleaving
 * of the steps below, and a lock whose process is gone is taken over by
 * exactly one of the processes that find it so.
 *
 * Only atomic file operations decide:
 *
 * - a lock (or a claim) is written whole to a file of its own, then
 *   hard-linked to its name: the link fails if the name exists, and a
 *   reader never sees a half-written lock;
 * - a stale lock is taken over through a claim on that very lock,
 *   `<journal>.lock.<generation>.claim` (the generation: a hash of the lock
 *   file's bytes, each lock carrying a fresh nonce), created the same way.
 *   The one process whose claim is created checks that the lock is still
 *   the stale one, then renames its claim over it: the claim becomes the
 *   lock. Nothing else ever replaces or removes a lock that is not its own,
 *   so the lock is still the stale one when the rename lands.
 * - a claim whose process died in turn is claimed the same way, one level
 *   down (`<claim>.<generation>.claim`), and so on.
 *
 * A process id means something on this machine only: a lock written on
 * another host is taken as live.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createHash, randomBytes } from "node:crypto"
import { hostname } from "node:os"

/** The lock is held: by a live process (`pid`), or by a file that names none. */
export class LockHeld extends Data.TaggedError("LockHeld")<{
  readonly lockPath: string
  readonly pid?: number | undefined
}> {}

/** The file system refused a step of taking or reading the lock. */
export class LockIoError extends Data.TaggedError("LockIoError")<{
  readonly lockPath: string
  readonly error: PlatformError
}> {}

/** Where a step of {@link acquire} stands, for the tests that force an interleaving. */
export type Step =
  /** Read a lock (or claim) of a process that is gone, before claiming it. */
  | { readonly _tag: "FoundStale"; readonly path: string; readonly pid: number }
  /** Created a claim on a stale lock, before checking the lock and renaming the claim over it. */
  | { readonly _tag: "Claimed"; readonly claimPath: string }

export interface Options {
  /** The process id written into the lock. Default: this process's. */
  readonly pid?: number | undefined
  /** Whether a process runs. Default: signal 0 on this machine. */
  readonly isAlive?: ((pid: number) => boolean) | undefined
  /** Runs between two steps: a test's way to stop one contender there while another goes on. */
  readonly step?: ((step: Step) => Effect.Effect<void>) | undefined
}

/**
 * Whether a process with this id runs on this machine. Signal 0 only
 * checks; `EPERM` means it runs under another user.
 */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { readonly code?: unknown }).code === "EPERM"
  }
}

const LockContent = Schema.parseJson(Schema.Struct({
  pid: Schema.Positive.pipe(Schema.int()),
  host: Schema.optional(Schema.String),
  nonce: Schema.optional(Schema.String)
}))
const decodeContent = Schema.decodeUnknownOption(LockContent)

interface Seen {
  /** The file's text: a lock is the same lock while its text is. */
  readonly text: string
  /** The live process it names, `undefined` when it names none. */
  readonly pid: number | undefined
  readonly alive: boolean
}

const isReason = (reason: string) => (error: PlatformError) => error._tag === "SystemError" && error.reason === reason
const isAlreadyExists = isReason("AlreadyExists")
const isNotFound = isReason("NotFound")

const encoder = new TextEncoder()

/** Attempts of the whole procedure: each one lost only to another process's progress. */
const maxAttempts = 16

/**
 * Takes `lockPath` for the scope, or fails with {@link LockHeld} naming the
 * live process that holds it. Released (removed, if it is still this
 * lock) when the scope closes.
 */
export const acquire = (
  fs: FileSystem.FileSystem,
  lockPath: string,
  options: Options = {}
): Effect.Effect<void, LockHeld | LockIoError, Scope.Scope> => {
  const pid = options.pid ?? process.pid
  const isAlive = options.isAlive ?? isProcessAlive
  const step = options.step ?? (() => Effect.void)
  const host = hostname()
  const io = (error: PlatformError) => new LockIoError({ lockPath, error })
  const held = (holder?: number) => new LockHeld({ lockPath, pid: holder })

  /** A fresh lock's text: this process, and a nonce that makes each lock a generation of its own. */
  const content = () => `${JSON.stringify({ pid, host, nonce: randomBytes(12).toString("hex") })}\n`

  /**
   * Writes `text` to a file of its own, then links it to `path`: `true` if
   * `path` is now that file, `false` if `path` existed.
   */
  const createWhole = (path: string, text: string): Effect.Effect<boolean, LockIoError> => {
    const staging = `${path}.${pid}.${randomBytes(6).toString("hex")}.tmp`
    return Effect.acquireUseRelease(
      Effect.mapError(fs.writeFile(staging, encoder.encode(text), { flag: "wx" }), io),
      () =>
        Effect.matchEffect(fs.link(staging, path), {
          onSuccess: () => Effect.succeed(true),
          onFailure: (error) => isAlreadyExists(error) ? Effect.succeed(false) : Effect.fail(io(error))
        }),
      () => Effect.ignore(fs.remove(staging))
    )
  }

  /** The lock or claim at `path`; `undefined` if there is none. */
  const read = (path: string): Effect.Effect<Seen | undefined, LockIoError> =>
    Effect.matchEffect(fs.readFileString(path), {
      onFailure: (error) => isNotFound(error) ? Effect.succeed(undefined) : Effect.fail(io(error)),
      onSuccess: (text) =>
        Effect.sync(() => {
          const decoded = Option.getOrUndefined(decodeContent(text))
          if (decoded === undefined) return { text, pid: undefined, alive: true }
          // a process on another machine cannot be checked from here: taken as live
          const alive = (decoded.host !== undefined && decoded.host !== host) || isAlive(decoded.pid)
          return { text, pid: decoded.pid, alive }
        })
    })

  const claimOf = (path: string, seen: Seen) =>
    `${path}.${createHash("sha256").update(seen.text).digest("hex").slice(0, 16)}.claim`

  /** What one attempt ended with: the lock held (its text), refused, or lost to a race (try again). */
  type Attempt = { readonly _tag: "Held"; readonly text: string } | { readonly _tag: "Again" }

  const attempt: Effect.Effect<Attempt, LockHeld | LockIoError> = Effect.gen(function*() {
    const mine = content()
    if (yield* createWhole(lockPath, mine)) return { _tag: "Held", text: mine }
    const root = yield* read(lockPath)
    if (root === undefined) return { _tag: "Again" }
    if (root.alive) return yield* held(root.pid)
    // Stale. Claim it; a claim left by a process that died in turn is claimed one level down.
    let node = { path: lockPath, seen: root }
    const dead: Array<{ readonly path: string; readonly text: string }> = []
    for (;;) {
      yield* step({ _tag: "FoundStale", path: node.path, pid: node.seen.pid! })
      const claimPath = claimOf(node.path, node.seen)
      if (yield* createWhole(claimPath, mine)) {
        const replaced = yield* Effect.gen(function*() {
          yield* step({ _tag: "Claimed", claimPath })
          const now = yield* read(lockPath)
          // another process got there first: its lock stands
          if (now?.text !== root.text) return false
          yield* Effect.mapError(fs.rename(claimPath, lockPath), io)
          return true
        }).pipe(
          // a claim that did not become the lock is withdrawn, whatever stopped it
          Effect.onExit((exit) => exit._tag === "Success" && exit.value ? Effect.void : Effect.ignore(fs.remove(claimPath)))
        )
        if (!replaced) return { _tag: "Again" }
        // the claims of dead processes on the way down: only the tidiness of the folder depends on these
        for (const claim of dead) {
          const still = yield* Effect.orElseSucceed(read(claim.path), () => undefined)
          if (still?.text === claim.text) yield* Effect.ignore(fs.remove(claim.path))
        }
        return { _tag: "Held", text: mine }
      }
      const claim = yield* read(claimPath)
      if (claim === undefined) return { _tag: "Again" }
      // a live process is taking the lock over right now: it will hold it
      if (claim.alive) return yield* held(claim.pid)
      dead.push({ path: claimPath, text: claim.text })
      node = { path: claimPath, seen: claim }
    }
  })

  const take: Effect.Effect<string, LockHeld | LockIoError> = Effect.gen(function*() {
    for (let i = 0; i < maxAttempts; i++) {
      const outcome = yield* attempt
      if (outcome._tag === "Held") return outcome.text
    }
    return yield* held(undefined)
  })

  /** Removes the lock if it is still this one. */
  const release = (text: string) =>
    Effect.flatMap(Effect.orElseSucceed(read(lockPath), () => undefined), (now) =>
      now?.text === text ? Effect.ignore(fs.remove(lockPath)) : Effect.void)

  return Effect.asVoid(Effect.acquireRelease(take, release))
}

/** {@link acquire} with the platform's `FileSystem`. */
export const lock = (
  lockPath: string,
  options?: Options
): Effect.Effect<void, LockHeld | LockIoError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => acquire(fs, lockPath, options))
