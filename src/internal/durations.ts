/**
 * Durations as options take them (`Duration.DurationInput`), as schemas:
 * one rule for the client's config and the test doubles' options.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value)

/** `Duration.decode` clamps a negative input to zero: the sign is read off the input itself. */
const isNegative = (input: Duration.DurationInput): boolean =>
  typeof input === "number"
    ? input < 0 || Number.isNaN(input)
    : typeof input === "bigint"
    ? input < BigInt(0)
    : typeof input === "string"
    ? input.trimStart().startsWith("-")
    : Array.isArray(input)
    ? input.some((part) => part < 0 || Number.isNaN(part))
    : false

/**
 * A `Duration.DurationInput` of 0 or more, kept as given (a number is
 * milliseconds, as in JSON).
 */
export const DurationInput = Schema.declare(
  (input: unknown): input is Duration.DurationInput => Option.isSome(Duration.decodeUnknown(input)),
  { identifier: "DurationInput", message: (issue) => `Expected a duration, actual ${show(issue.actual)}` }
).pipe(
  Schema.filter((input) => !isNegative(input) || `Expected a duration of 0 or more, actual ${show(input)}`)
)

/** {@link DurationInput} that is not infinite. */
export const FiniteDurationInput = DurationInput.pipe(
  Schema.filter((input) => Duration.isFinite(Duration.decode(input)) || `Expected a finite duration, actual ${show(input)}`)
)

/** A `Duration.DurationInput` decoded to the `Duration` it means. */
export const toDuration = <I extends Duration.DurationInput>(input: Schema.Schema<I>) =>
  Schema.transform(input, Schema.DurationFromSelf, { strict: false, decode: Duration.decode, encode: (d) => d })

