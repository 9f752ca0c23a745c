/**
 * Which failures are worth another attempt, and how long to wait first.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { Service as ConfigService } from "../VoucherifyConfig.js"
import type { VoucherifyError } from "../VoucherifyError.js"

const transientStatuses: ReadonlySet<number> = new Set([408, 500, 502, 503, 504])

/**
 * Transport errors, timeouts, 408, 5xx gateway-ish statuses and 429s whose
 * wait is short enough. A 429 of type `api_calls_cycle` lasts until the
 * billing cycle ends: waiting for it is pointless.
 */
export const isRetryable = (maxRetryAfter: Duration.Duration) => (error: VoucherifyError): boolean => {
  switch (error._tag) {
    case "TransportError":
      return error.reason !== "Redirect"
    case "ServerError":
    case "BadRequestError":
      return transientStatuses.has(error.status)
    case "RateLimitError":
      return error.limitType !== "api_calls_cycle" &&
        (error.retryAfter === undefined || Duration.lessThanOrEqualTo(error.retryAfter, maxRetryAfter))
    default:
      return false
  }
}

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
