/**
 * The bulk quota as a schedule: one gate for the whole run. A refused bulk
 * call closes it until the time the answer named; so does an accepted one
 * that says no call is left. Every sender waits at the gate, so a closed
 * quota costs one refused call, not one per slot.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { RateLimitHeaders } from "../http/responseError.js"

/** Voucherify's bulk window is an hour: a wait of up to 65 minutes is worth making by default. */
export const defaultMaxQuotaWait: Duration.Duration = Duration.minutes(65)

export interface QuotaGate {
  /** Waits while the gate is closed (again, if it was closed further meanwhile). */
  readonly pass: Effect.Effect<void>
  /**
   * A call was refused with `wait`: closes the gate until then and answers
   * `true`, or answers `false` when the wait is longer than the run may make.
   */
  readonly refused: (wait: Duration.Duration) => Effect.Effect<boolean>
  /** An accepted call's rate-limit headers: none left means hold the next call until `retryAt`. */
  readonly accepted: (rateLimit: RateLimitHeaders | undefined) => Effect.Effect<void>
}

export const makeQuotaGate = (options: {
  readonly maxWait: Duration.Duration
  /** Told the time the gate opens when a sender starts waiting, and `undefined` when it passes. */
  readonly onWait: (until: number | undefined) => Effect.Effect<void>
}): QuotaGate => {
  const maxWaitMillis = Duration.toMillis(options.maxWait)
  let opensAt = 0
  const closeUntil = (until: number) => {
    opensAt = Math.max(opensAt, until)
  }
  const pass: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    now >= opensAt ? Effect.void : Effect.zipRight(
      Effect.zipRight(options.onWait(opensAt), Effect.sleep(Duration.millis(opensAt - now))),
      Effect.zipRight(Effect.suspend(() => pass), options.onWait(undefined))
    ))
  return {
    pass,
    refused: (wait) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const millis = Duration.toMillis(wait)
        if (millis > maxWaitMillis) return false
        closeUntil(now + millis)
        return true
      }),
    accepted: (rateLimit) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        // only the bulk quota's own headers (or untyped ones) hold the run
        if (rateLimit?.remaining !== 0 || rateLimit.retryAt === undefined) return
        if (rateLimit.limitType !== undefined && rateLimit.limitType !== "bulk_api_calls") return
        // a hold past the cap is not made: the next call's refusal stops the run honestly
        if (rateLimit.retryAt - now <= maxWaitMillis) closeUntil(rateLimit.retryAt)
      })
  }
}
