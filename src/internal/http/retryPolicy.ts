/**
 * How long to wait before another attempt (which failures get one is in
 * `errorRules.ts`).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { Service as ConfigService } from "../../VoucherifyConfig.js"
import type { VoucherifyError } from "../../VoucherifyError.js"

/** The wait the server asked for, if any. */
const requestedDelay = (error: VoucherifyError): Duration.Duration =>
  error._tag === "RateLimitError" && error.retryAfter !== undefined ? error.retryAfter : Duration.zero

/**
 * Exponential backoff with jitter, capped, at most `maxRetries` times, and
 * never sooner than the server's `Retry-After`: `intersect` waits for the
 * longer of the two delays.
 */
export const schedule = (retry: ConfigService["retry"]): Schedule.Schedule<unknown, VoucherifyError> =>
  Schedule.exponential(retry.baseDelay, 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, retry.maxDelay)),
    Schedule.intersect(Schedule.recurs(retry.maxRetries)),
    Schedule.intersect(Schedule.identity<VoucherifyError>().pipe(Schedule.addDelay(requestedDelay)))
  )
