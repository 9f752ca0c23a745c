/**
 * The values of the test doubles' options that must hold up, with the
 * server's defaults (`VoucherifyTest` fills in its own first), checked
 * before anything starts. The other options are taken as typed.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { defaultMaxPayloadBytes } from "../../../internal/limits.js"
import { Count, DurationInput, FiniteDurationInput, PositiveInt, toDuration } from "../schemas.js"
import { Faults } from "./faults.js"

const count = Schema.optional(Count)

export const Options = Schema.Struct({
  port: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 65535)), { default: () => 0 }),
  processingDelay: Schema.optionalWith(toDuration(DurationInput), { default: () => Duration.zero }),
  tokenTtl: Schema.optionalWith(toDuration(FiniteDurationInput), { default: () => Duration.minutes(15) }),
  reportTtl: Schema.optionalWith(toDuration(FiniteDurationInput), { default: () => Duration.hours(24) }),
  maxPayloadBytes: Schema.optionalWith(PositiveInt, { default: () => defaultMaxPayloadBytes }),
  maxRecordedRequests: Schema.optionalWith(Count, { default: () => 10_000 }),
  maxResultErrors: Schema.optionalWith(Count, { default: () => 100 }),
  rateLimits: Schema.optional(Schema.Struct({
    apiCallsPerMinute: count,
    bulkCallsPerMinute: count,
    bulkCallsPerHour: count,
    bulkQuota: Schema.optional(Schema.Struct({
      calls: Count,
      window: toDuration(FiniteDurationInput).pipe(
        Schema.filter((window) => Duration.greaterThan(window, Duration.zero) || "must be longer than zero")
      )
    })),
    apiCallsPerCycle: count
  })),
  faults: Schema.optional(Faults)
})
