/**
 * The documented exit codes, and which failure gets which.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | success |
 * | 1 | usage or input error (bad option, malformed ids file or one that changed while read, bad metadata), or a bug (a defect) |
 * | 2 | partial failure: some ids were not updated (the report says which) |
 * | 3 | authentication or configuration error, or a server that could not be reached at all |
 * | 130 | interrupted (Ctrl-C, SIGTERM, or SIGHUP when the terminal closes); the report is still written |
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as BulkRun from "../BulkRun.js"
import { TransportError } from "../VoucherifyError.js"

export const ExitCode = {
  Success: 0,
  InputError: 1,
  PartialFailure: 2,
  AuthOrConfig: 3,
  Interrupted: 130
} as const

export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

const byTag: Readonly<Record<string, ExitCode>> = {
  InputError: ExitCode.InputError,
  InputChangedError: ExitCode.InputError,
  InvalidRequestError: ExitCode.InputError,
  NotFoundError: ExitCode.InputError,
  PayloadTooLargeError: ExitCode.InputError,
  ConfigurationError: ExitCode.AuthOrConfig,
  // a journal that belongs to another run, is in use, or cannot be read: the user's input
  JournalMismatchError: ExitCode.InputError,
  JournalLockedError: ExitCode.InputError,
  JournalCorruptError: ExitCode.InputError,
  JournalExistsError: ExitCode.InputError,
  JournalIoError: ExitCode.InputError,
  // a sync state that cannot be read or written
  SyncStateError: ExitCode.InputError,
  UnauthorizedError: ExitCode.AuthOrConfig,
  ForbiddenError: ExitCode.AuthOrConfig
}

/**
 * The code for one failure. A bulk run failure is judged by its cause: a
 * refused token is still an authentication error, whatever got sent before.
 * Every other failure of a request is a partial failure.
 */
export const exitCodeOf = (error: unknown): ExitCode => {
  // no connection could be made: a wrong base URL or no network, not a partial failure
  if (error instanceof TransportError && error.reason === "Connect") return ExitCode.AuthOrConfig
  if (error instanceof BulkRun.BulkRunError) {
    // ...unless some ids got through before the connection went
    const unreachable = error.error instanceof TransportError && error.error.reason === "Connect"
    return unreachable && error.report.accepted.items > 0 ? ExitCode.PartialFailure : exitCodeOf(error.error)
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && error._tag in byTag) {
    return byTag[error._tag]!
  }
  if (ValidationError.isValidationError(error)) return ExitCode.InputError
  return ExitCode.PartialFailure
}

/** The code for how the program ended. */
export const exitCodeOfCause = (cause: Cause.Cause<unknown>): ExitCode => {
  if (Cause.isInterrupted(cause)) return ExitCode.Interrupted
  return Option.match(Cause.failureOption(cause), {
    onNone: () => ExitCode.InputError,
    onSome: exitCodeOf
  })
}
