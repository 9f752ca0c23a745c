/**
 * What each failure means, in one place: whether another attempt is worth
 * it, whether it stops a bulk run, and whether the request may have reached
 * Voucherify although no answer came back.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type { VoucherifyError } from "../../VoucherifyError.js"

const transientStatuses: ReadonlySet<number> = new Set([408, 500, 502, 503, 504])

/**
 * Transport errors, timeouts, 408, 5xx gateway-ish statuses and 429s whose
 * wait is short enough. A 429 of type `api_calls_cycle` lasts until the
 * billing cycle ends: waiting for it is pointless. A 429 of type
 * `bulk_api_calls` is not retried request by request: the hourly bulk
 * quota is waited out by the whole bulk run at once ({@link quotaWait}), so
 * that concurrent requests do not each spend a refused call on it.
 */
export const isRetryable = (maxRetryAfter: Duration.Duration) => (error: VoucherifyError): boolean => {
  switch (error._tag) {
    case "TransportError":
      return error.reason !== "Redirect"
    case "ServerError":
    case "BadRequestError":
      return transientStatuses.has(error.status)
    case "RateLimitError":
      return error.limitType !== "api_calls_cycle" && error.limitType !== "bulk_api_calls" &&
        (error.retryAfter === undefined || Duration.lessThanOrEqualTo(error.retryAfter, maxRetryAfter))
    default:
      return false
  }
}

/**
 * Errors after which every later chunk would fail the same way: bad
 * credentials, a missing scope or region, a quota that lasts until the
 * billing cycle ends.
 */
export const stopsTheRun = (error: VoucherifyError): boolean =>
  error._tag === "UnauthorizedError" ||
  error._tag === "ForbiddenError" ||
  (error._tag === "RateLimitError" && error.limitType === "api_calls_cycle")

/**
 * Whether the request may have reached the API and been queued although no
 * async action id came back:
 * - a transport failure or a timeout (the body may have been sent before
 *   the connection broke), but not a connection that was never made;
 * - 500 (the API failed somewhere while handling it), 502 and 504 (a
 *   gateway forwarded it and lost the answer);
 * - a 2xx whose body was not the expected `{async_action_id}`.
 *
 * Everything else is a definite refusal: 4xx (413, 429 included: the
 * gateway answers them before the API queues anything), 503 (nothing
 * available to take it), a refused redirect, a local validation error.
 */
export const mayHaveArrived = (error: VoucherifyError): boolean => {
  switch (error._tag) {
    case "TransportError":
      // a connection never made carried nothing
      return error.reason === "Transport" || error.reason === "Timeout"
    case "ServerError":
      return error.status === 500 || error.status === 502 || error.status === 504
    case "ResponseDecodeError":
      return error.status >= 200 && error.status < 300
    default:
      return false
  }
}


/**
 * The wait a refused bulk request asks the whole run to make: a 429 that
 * came back with a wait (the bulk quota, or any limit whose wait was past
 * the per-request retry cap), except `api_calls_cycle`, which lasts until
 * the billing cycle ends.
 */
export const quotaWait = (error: VoucherifyError): Duration.Duration | undefined =>
  error._tag === "RateLimitError" && error.limitType !== "api_calls_cycle" ? error.retryAfter : undefined
