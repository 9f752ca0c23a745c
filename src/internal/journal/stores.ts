/**
 * Where a journal's bytes live: a locked file through `FileSystem`, or a
 * `Ref` in memory for tests. The journal above them is the same.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import { ioError, JournalExistsError, JournalIoError, JournalLockedError } from "./errors.js"
import * as Lock from "./lock.js"
import type { Appender, Journal, Store } from "./writer.js"
import { make } from "./writer.js"

/**
 * A journal in memory: the same lines, in a `Ref`.
 */
export interface MemoryJournal extends Journal {
  /** The journal's text, as a file would hold it (empty while it does not exist). */
  readonly text: Effect.Effect<string>
}

// ---------------------------------------------------------------------------
// On a file system

const isAlreadyExists = (error: PlatformError) => error._tag === "SystemError" && error.reason === "AlreadyExists"

const fileAppender = (path: string) => (file: FileSystem.File): Appender => ({
  append: (bytes, durable) =>
    Effect.zipRight(
      Effect.mapError(file.writeAll(bytes), ioError(path, "write")),
      durable ? Effect.mapError(file.sync, ioError(path, "sync")) : Effect.void
    )
})

const fileStore = (fs: FileSystem.FileSystem, path: string, scope: Scope.Scope): Store => {
  const open = (flag: "ax" | "a") => Scope.extend(fs.open(path, { flag }), scope)
  return {
    path,
    read: Effect.mapError(fs.readFile(path), ioError(path, "read")),
    create: open("ax").pipe(
      Effect.mapError((error) =>
        isAlreadyExists(error) ? new JournalExistsError({ path }) : ioError(path, "create")(error)
      ),
      Effect.map(fileAppender(path))
    ),
    reopen: (keep, size) =>
      Effect.zipRight(
        keep < size ? Effect.mapError(fs.truncate(path, keep), ioError(path, "truncate")) : Effect.void,
        Effect.map(Effect.mapError(open("a"), ioError(path, "open")), fileAppender(path))
      )
  }
}

/** `<journal>.lock`, taken for the scope (see `lock.ts`), its refusals as the journal's errors. */
const lock = (fs: FileSystem.FileSystem, path: string) =>
  Effect.mapError(Lock.acquire(fs, `${path}.lock`), (error) =>
    error._tag === "LockHeld"
      ? new JournalLockedError({ path, lockPath: error.lockPath, ...(error.pid === undefined ? {} : { pid: error.pid }) })
      : ioError(path, "lock")(error.error))

export const file = (path: string): Effect.Effect<
  Journal,
  JournalLockedError | JournalIoError,
  FileSystem.FileSystem | Scope.Scope
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* lock(fs, path)
    return yield* make(fileStore(fs, path, yield* Effect.scope))
  })

// ---------------------------------------------------------------------------
// In memory

const notFound = (path: string) =>
  new JournalIoError({ path, operation: "read", reason: "NotFound", description: "no such journal" })

export const memory = (text?: string): Effect.Effect<MemoryJournal> =>
  Effect.gen(function*() {
    const path = "memory"
    const content = yield* Ref.make<Uint8Array | undefined>(
      text === undefined ? undefined : new TextEncoder().encode(text)
    )
    const appender: Appender = {
      append: (bytes) =>
        Ref.update(content, (current) => {
          const next = new Uint8Array((current?.length ?? 0) + bytes.length)
          if (current !== undefined) next.set(current)
          next.set(bytes, current?.length ?? 0)
          return next
        })
    }
    const journal = yield* make({
      path,
      read: Effect.flatMap(Ref.get(content), (bytes) =>
        bytes === undefined ? Effect.fail(notFound(path)) : Effect.succeed(bytes)),
      create: Effect.flatten(
        Ref.modify(content, (bytes): readonly [Effect.Effect<Appender, JournalExistsError>, Uint8Array] =>
          bytes === undefined
            ? [Effect.succeed(appender), new Uint8Array(0)]
            : [Effect.fail(new JournalExistsError({ path })), bytes])
      ),
      reopen: (keep) => Effect.as(Ref.update(content, (bytes) => bytes?.subarray(0, keep)), appender)
    })
    return { ...journal, text: Effect.map(Ref.get(content), (bytes) => bytes === undefined ? "" : new TextDecoder().decode(bytes)) }
  })
