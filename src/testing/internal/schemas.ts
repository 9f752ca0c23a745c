/**
 * The value rules of the test doubles' options, as schemas, and the one
 * mapping of a `ParseError` to the `InvalidRequestError` that names the
 * option, so that a value that would quietly change their behaviour (a
 * `NaN` limit, a negative delay, a rate above 1) fails instead.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidRequestError } from "../../VoucherifyError.js"

export { DurationInput, FiniteDurationInput, toDuration } from "../../internal/durations.js"

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
