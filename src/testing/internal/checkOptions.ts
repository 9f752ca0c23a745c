/**
 * Checks of the options the test doubles take, so that a value that would
 * quietly change their behaviour (a `NaN` limit, a negative delay, a rate
 * above 1) fails with an error naming the option instead.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { InvalidRequestError } from "../../VoucherifyError.js"

const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value)

const isNegative = (input: unknown): boolean =>
  typeof input === "number"
    ? input < 0 || Number.isNaN(input)
    : typeof input === "bigint"
    ? input < BigInt(0)
    : typeof input === "string"
    ? input.trimStart().startsWith("-")
    : Array.isArray(input)
    ? input.some((part) => typeof part !== "number" || part < 0 || Number.isNaN(part))
    : false

/**
 * A duration of 0 or more (`Duration.DurationInput`), or the error naming
 * `path`. `finite` also refuses an infinite one.
 */
export const duration = (
  path: string,
  input: unknown,
  options?: { readonly finite?: boolean | undefined }
): Duration.Duration | InvalidRequestError => {
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return new InvalidRequestError({ path, reason: `${show(input)} is not a duration` })
  if (isNegative(input)) {
    return new InvalidRequestError({ path, reason: `must be a duration of 0 or more, got ${show(input)}` })
  }
  if (options?.finite === true && !Duration.isFinite(decoded.value)) {
    return new InvalidRequestError({ path, reason: "must be a finite duration" })
  }
  return decoded.value
}

/** An integer of at least `min`, or the error naming `path`. */
export const integer = (path: string, value: unknown, min: number): InvalidRequestError | undefined =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min
    ? undefined
    : new InvalidRequestError({
      path,
      reason: `must be ${min === 0 ? "a whole number of 0 or more" : `an integer of ${min} or more`}, got ${
        show(value)
      }`
    })

/** A probability from 0 to 1, or the error naming `path`. */
export const probability = (path: string, value: unknown): InvalidRequestError | undefined =>
  typeof value === "number" && value >= 0 && value <= 1
    ? undefined
    : new InvalidRequestError({ path, reason: `must be a probability from 0 to 1, got ${show(value)}` })
