/**
 * The value rules of the test doubles' options, as schemas, and the one
 * mapping of a `ParseError` to the `InvalidRequestError` that names the
 * option, so that a value that would quietly change their behaviour (a
 * `NaN` limit, a negative delay, a rate above 1) fails instead.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidRequestError } from "../../VoucherifyError.js"

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

/** A whole number of 0 or more. */
export const Count = Schema.NonNegativeInt

/** An integer of 1 or more. */
export const PositiveInt = Schema.Int.pipe(Schema.positive())

/** A number from 0 to 1. */
export const Probability = Schema.Number.pipe(Schema.between(0, 1))

const formatPath = (root: string, path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (at, key) => typeof key === "number" ? `${at}[${key}]` : at === "" ? String(key) : `${at}.${String(key)}`,
    root
  )

/** The first issue, as the field it is about (under `root`) and what is wrong with it. */
export const firstIssue = (root: string, issue: ParseResult.ParseIssue): { readonly path: string; readonly reason: string } => {
  const [first] = ParseResult.ArrayFormatter.formatIssueSync(issue)
  return { path: formatPath(root, first?.path ?? []), reason: first?.message ?? "is not valid" }
}

/** The first issue of `error` as the error naming its field, under `root`. */
export const invalidRequest = (root: string) => (error: ParseResult.ParseError): InvalidRequestError =>
  new InvalidRequestError(firstIssue(root, error.issue))

/** Decodes `input` with `schema`, or fails with the error naming the field under `root`. */
export const decode = <A, I>(schema: Schema.Schema<A, I>, root = "") => {
  const decodeEither = Schema.decodeUnknownEither(schema)
  return (input: I): Effect.Effect<A, InvalidRequestError> =>
    Effect.suspend(() => Either.mapLeft(decodeEither(input), invalidRequest(root)))
}
