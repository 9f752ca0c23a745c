/**
 * The journal of a bulk run: an append-only file, one JSON line an event,
 * that records what the run is (target, metadata hash, `maxBytes`, input)
 * and what became of each chunk, so that a run that dies (`kill -9`, a
 * closed laptop, a CI timeout) can be resumed without sending an accepted
 * chunk again. Hand one to `BulkMetadata.run` as `journal`, with
 * `resume: true` to continue the run it holds.
 *
 * An accepted chunk's line is synced to the disk before the run counts it,
 * so a crash loses at most the chunks still in flight. The journal holds no
 * credential and no metadata value, only the metadata's SHA-256.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { BulkJournal, BulkMetadata } from "effect-voucherify"
 *
 * const program = Effect.gen(function*() {
 *   const journal = yield* BulkJournal.file("run.journal")
 *   return yield* BulkMetadata.run(["prod_1", "prod_2"], {
 *     target: "products",
 *     metadata: { season: "summer" },
 *     journal,
 *     resume: true
 *   })
 * }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as errors from "./internal/journal/errors.js"
import type * as format from "./internal/journal/format.js"
import * as stores from "./internal/journal/stores.js"
import type * as writer from "./internal/journal/writer.js"

export {
  /**
   * A line of the journal, other than a torn last one, is not a journal event: `line` says which.
   *
   * @since 0.1.0
   * @category errors
   */
  JournalCorruptError,
  /**
   * A new run was to start a journal that already exists: resume its run, or choose another path.
   *
   * @since 0.1.0
   * @category errors
   */
  JournalExistsError,
  /**
   * The file system refused an operation on the journal or its lock (`operation`, `reason`).
   *
   * @since 0.1.0
   * @category errors
   */
  JournalIoError,
  /**
   * Another live process holds `<journal>.lock` (`pid`), or this one opened the journal twice.
   *
   * @since 0.1.0
   * @category errors
   */
  JournalLockedError,
  /**
   * The run to resume is not the run the journal recorded: `field` says what changed, `journal` and `run` its values.
   *
   * @since 0.1.0
   * @category errors
   */
  JournalMismatchError
} from "./internal/journal/errors.js"

/**
 * Every error of a journal.
 *
 * @since 0.1.0
 * @category errors
 */
export type JournalError = errors.JournalError

/**
 * Where a run's ids come from. A file is identified by its path (as given:
 * resume with the same path), size and modification time; stdin and other
 * streams cannot be checked, so only the chunks' hashes guard them.
 *
 * @since 0.1.0
 * @category models
 */
export type InputDescription = format.InputDescription

/**
 * An opened journal, for `BulkMetadata.run`'s `journal` option.
 *
 * @since 0.1.0
 * @category models
 */
export type Journal = writer.Journal

/**
 * A journal in memory: `text` is what a file would hold.
 *
 * @since 0.1.0
 * @category models
 */
export type MemoryJournal = stores.MemoryJournal

/**
 * Opens the journal at `path` for the scope, holding `<path>.lock` (created
 * exclusively, with this process's id) until the scope closes. A lock left by
 * a process that no longer runs on this machine (a crash, a `kill -9`) is
 * taken over; any other lock fails with `JournalLockedError`. The lock
 * assumes one machine (a process id means nothing on another host).
 *
 * @since 0.1.0
 * @category constructors
 */
export const file: (
  path: string
) => Effect.Effect<Journal, errors.JournalLockedError | errors.JournalIoError, FileSystem.FileSystem | Scope.Scope> =
  stores.file

/**
 * A journal in memory, for tests: `text` is an existing journal's content,
 * omitted for one that does not exist yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory: (text?: string) => Effect.Effect<MemoryJournal> = stores.memory
