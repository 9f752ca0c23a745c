/**
 * The journal's errors: each says which journal, and what a caller can do about it.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import * as Schema from "effect/Schema"

/** The journal is used by a live process (or by this one, opened twice). */
export class JournalLockedError extends Schema.TaggedError<JournalLockedError>()("JournalLockedError", {
  /** The journal. */
  path: Schema.String,
  /** The lock file that holds it: `<journal>.lock`. */
  lockPath: Schema.String,
  /** The process the lock file names; absent when it names none. */
  pid: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.pid === undefined
      ? `the journal ${this.path} is locked: ${this.lockPath} names no process; ` +
        `if no run uses the journal, remove ${this.lockPath}`
      : `the journal ${this.path} is in use by process ${this.pid} (lock file ${this.lockPath}); ` +
        `if that process is not a run on this journal, remove ${this.lockPath}`
  }
}

/** A new run was to start a journal that already exists. */
export class JournalExistsError extends Schema.TaggedError<JournalExistsError>()("JournalExistsError", {
  path: Schema.String
}) {
  override get message(): string {
    return `the journal ${this.path} already exists: resume its run, or choose another path`
  }
}

/** A line of the journal, other than a torn last one, is not a journal event. */
export class JournalCorruptError extends Schema.TaggedError<JournalCorruptError>()("JournalCorruptError", {
  path: Schema.String,
  /** 1 for the first line. */
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `the journal ${this.path} is corrupt at line ${this.line}: ${this.reason}`
  }
}

/**
 * The run to resume is not the run the journal recorded: `field` says what
 * changed (`maxBytes`, `input.size`…, or, with `chunk`, a field of that
 * chunk), `journal` and `run` its value in the journal and now.
 */
export class JournalMismatchError extends Schema.TaggedError<JournalMismatchError>()("JournalMismatchError", {
  path: Schema.String,
  field: Schema.String,
  journal: Schema.String,
  run: Schema.String,
  /** The index of the chunk that differs, for a chunk's field. */
  chunk: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.chunk === undefined
      ? `the journal ${this.path} records another run: its ${this.field} is ${this.journal}, this run's is ${this.run}`
      : `chunk ${this.chunk} is not the one the journal ${this.path} holds as accepted: its ${this.field} was ` +
        `${this.journal}, is now ${this.run} (the ids or the metadata changed since)`
  }
}

/** The file system refused an operation on the journal or its lock. */
export class JournalIoError extends Schema.TaggedError<JournalIoError>()("JournalIoError", {
  path: Schema.String,
  operation: Schema.Literal("read", "create", "open", "truncate", "write", "sync", "lock"),
  /** The platform's reason: `NotFound`, `PermissionDenied`, `BadArgument`… */
  reason: Schema.String,
  description: Schema.String
}) {
  override get message(): string {
    return `cannot ${this.operation} the journal ${this.path}: ${this.description}`
  }
}

/** The platform's refusal of `operation` on the journal at `path`. */
export const ioError = (path: string, operation: JournalIoError["operation"]) => (error: PlatformError) =>
  new JournalIoError({
    path,
    operation,
    reason: error._tag === "SystemError" ? error.reason : error._tag,
    description: error.message
  })

/** Every error of a journal. */
export type JournalError =
  | JournalLockedError
  | JournalExistsError
  | JournalCorruptError
  | JournalMismatchError
  | JournalIoError
