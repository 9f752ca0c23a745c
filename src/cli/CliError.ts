/**
 * The failures the CLI itself raises, besides the library's
 * `VoucherifyError`s. Each one maps to an exit code in `ExitCode.ts`, and is
 * printed as `error: <message>`, then `hint: <hint>` when it has one.
 */
import * as Data from "effect/Data"

/**
 * The user's input cannot be used: a malformed ids file, metadata that is not
 * a JSON object, conflicting or unknown options. Exit code 1.
 */
export class InputError extends Data.TaggedError("InputError")<{
  readonly message: string
  /** What to do about it, in one line. */
  readonly hint?: string | undefined
}> {}

/**
 * The ids file changed while it was read (it grew, shrank or was written
 * to): what was read may end in a cut-off id. Found before the chunk that
 * holds its last line is sent, which then is not. Exit code 1.
 */
export class InputChangedError extends Data.TaggedError("InputChangedError")<{
  readonly path: string
  readonly message: string
}> {}

/**
 * Credentials or endpoint are missing or invalid before any request is made.
 * Exit code 3.
 */
export class ConfigurationError extends Data.TaggedError("ConfigurationError")<{
  readonly message: string
  readonly hint?: string | undefined
}> {}

/**
 * The run finished but some ids were not updated (rejected chunks under
 * `--continue-on-error`, or a failed async action). The report says which.
 * Exit code 2.
 */
export class PartialFailure extends Data.TaggedError("PartialFailure")<{
  readonly message: string
  readonly hint?: string | undefined
}> {}
