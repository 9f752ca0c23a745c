/**
 * Failures as the terminal shows them: one readable line per cause, with the
 * Voucherify key and request id the library's messages carry, and no stack
 * trace.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.length > 0
    ? error.message
    : String(error)

/** The lines that describe how a command failed. */
export const causeLines = (cause: Cause.Cause<unknown>): Array<string> => [
  ...Cause.failures(cause).pipe(
    // @effect/cli has already printed its usage errors with the help text.
    (failures) => Array.from(failures).filter((error) => !ValidationError.isValidationError(error)),
    (failures) => failures.map((error) => `error: ${oneLine(messageOf(error))}`)
  ),
  ...Array.from(Cause.defects(cause), (defect) => `internal error: ${oneLine(messageOf(defect))}`)
]

/** Prints {@link causeLines} on stderr. */
export const printCause = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.forEach(causeLines(cause), (line) => Console.error(line), { discard: true })
