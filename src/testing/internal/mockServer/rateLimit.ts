/**
 * Fixed-window quotas with Voucherify's rate-limit headers.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type { RateLimitType } from "../../MockVoucherifyServer.js"

/** The quotas as the options schema decoded them. */
export interface RateLimits {
  readonly apiCallsPerMinute?: number | undefined
  readonly bulkCallsPerMinute?: number | undefined
  readonly bulkCallsPerHour?: number | undefined
  readonly apiCallsPerCycle?: number | undefined
  readonly bulkQuota?: { readonly calls: number; readonly window: Duration.Duration } | undefined
}

interface Window {
  readonly type: RateLimitType
  readonly limit: number
  readonly millis: number
  /** Bulk requests only, or every authenticated one. */
  readonly bulkOnly: boolean
  /** Starts at multiples of its length since the epoch, rather than at its first request. */
  readonly aligned?: boolean
  start: number
  used: number
}

export type Verdict =
  | { readonly _tag: "Allowed"; readonly headers: Record<string, string> }
  | { readonly _tag: "Limited"; readonly headers: Record<string, string> }

export interface RateLimiter {
  /** Counts the request in every quota it falls under, unless one is exhausted. */
  readonly take: (bulk: boolean, nowMillis: number) => Verdict
  readonly exhaustCycle: (nowMillis: number) => void
  readonly reset: () => void
}

const minute = 60_000
const cycle = 30 * 24 * 60 * minute

const limitedHeaders = (
  type: RateLimitType,
  limit: number,
  retryAtMillis: number,
  nowMillis: number
): Record<string, string> => ({
  "x-rate-limit-limit": String(limit),
  "x-rate-limit-remaining": "0",
  "x-rate-limit-retry": String(Math.ceil(retryAtMillis / 1000)),
  "retry-after": String(Math.max(1, Math.ceil((retryAtMillis - nowMillis) / 1000))),
  "x-rate-limit-type": type
})

export const makeRateLimiter = (limits: RateLimits = {}): RateLimiter => {
  const specs: ReadonlyArray<Omit<Window, "start" | "used"> | undefined> = [
    limits.apiCallsPerMinute === undefined
      ? undefined
      : { type: "api_calls", limit: limits.apiCallsPerMinute, millis: minute, bulkOnly: false },
    limits.bulkCallsPerMinute === undefined
      ? undefined
      : { type: "bulk_api_calls", limit: limits.bulkCallsPerMinute, millis: minute, bulkOnly: true },
    limits.bulkCallsPerHour === undefined
      ? undefined
      : { type: "bulk_api_calls", limit: limits.bulkCallsPerHour, millis: 60 * minute, bulkOnly: true },
    limits.apiCallsPerCycle === undefined
      ? undefined
      : { type: "api_calls_cycle", limit: limits.apiCallsPerCycle, millis: cycle, bulkOnly: false },
    limits.bulkQuota === undefined ? undefined : {
      type: "bulk_api_calls",
      limit: limits.bulkQuota.calls,
      millis: Duration.toMillis(limits.bulkQuota.window),
      bulkOnly: true,
      aligned: true
    }
  ]
  let windows: Array<Window> = []
  let cycleExhaustedAt: number | undefined
  const reset = () => {
    windows = specs.flatMap((spec) => (spec === undefined ? [] : [{ ...spec, start: -Infinity, used: 0 }]))
    cycleExhaustedAt = undefined
  }
  reset()

  return {
    take: (bulk, now) => {
      if (cycleExhaustedAt !== undefined) {
        return { _tag: "Limited", headers: limitedHeaders("api_calls_cycle", 0, cycleExhaustedAt + cycle, now) }
      }
      const applicable = windows.filter((w) => bulk || !w.bulkOnly)
      for (const w of applicable) {
        if (now >= w.start + w.millis) {
          w.start = w.aligned === true ? now - (now % w.millis) : now
          w.used = 0
        }
      }
      const exhausted = applicable.find((w) => w.used >= w.limit)
      if (exhausted !== undefined) {
        return { _tag: "Limited", headers: limitedHeaders(exhausted.type, exhausted.limit, exhausted.start + exhausted.millis, now) }
      }
      let tightest: Window | undefined
      for (const w of applicable) {
        w.used++
        if (tightest === undefined || w.limit - w.used < tightest.limit - tightest.used) tightest = w
      }
      return {
        _tag: "Allowed",
        headers: tightest === undefined ? {} : {
          "x-rate-limit-limit": String(tightest.limit),
          "x-rate-limit-remaining": String(tightest.limit - tightest.used),
          "x-rate-limit-retry": String(Math.ceil((tightest.start + tightest.millis) / 1000)),
          "x-rate-limit-type": tightest.type
        }
      }
    },
    exhaustCycle: (now) => {
      cycleExhaustedAt = now
    },
    reset
  }
}
