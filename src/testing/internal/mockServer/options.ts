/**
 * Checks `MockVoucherifyServer` options before anything starts.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import { defaultMaxPayloadBytes } from "../../../internal/limits.js"
import { InvalidRequestError } from "../../../VoucherifyError.js"
import type { Faults, Options } from "../../MockVoucherifyServer.js"
import * as Check from "../checkOptions.js"

const faultTags = new Set([
  "ServerError",
  "RateLimited",
  "ResetBeforeBody",
  "ResetAfterProcessing",
  "Delay",
  "MalformedJson",
  "Redirect"
])

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** The first thing wrong with fault rules, named from `path` (`faults`). */
export const checkFaults = (faults: Faults | undefined, path = "faults"): InvalidRequestError | undefined => {
  if (faults === undefined) return undefined
  if (!isRecord(faults)) return new InvalidRequestError({ path, reason: "must be an object with rules" })
  if (faults.seed !== undefined && (typeof faults.seed !== "number" || !Number.isFinite(faults.seed))) {
    return new InvalidRequestError({ path: `${path}.seed`, reason: `must be a finite number, got ${String(faults.seed)}` })
  }
  if (!Array.isArray(faults.rules)) {
    return new InvalidRequestError({ path: `${path}.rules`, reason: "must be an array of fault rules" })
  }
  for (let i = 0; i < faults.rules.length; i++) {
    const at = `${path}.rules[${i}]`
    const rule: unknown = faults.rules[i]
    if (!isRecord(rule)) return new InvalidRequestError({ path: at, reason: "must be a fault rule object" })
    const fault = rule.fault
    if (!isRecord(fault) || typeof fault._tag !== "string" || !faultTags.has(fault._tag)) {
      return new InvalidRequestError({
        path: `${at}.fault._tag`,
        reason: `must be one of ${[...faultTags].join(", ")}`
      })
    }
    if (rule.rate !== undefined) {
      const error = Check.probability(`${at}.rate`, rule.rate)
      if (error) return error
    }
    if (rule.first !== undefined) {
      const error = Check.integer(`${at}.first`, rule.first, 0)
      if (error) return error
    }
    if (fault._tag === "Delay") {
      const delay = Check.duration(`${at}.fault.duration`, fault.duration)
      if (delay instanceof InvalidRequestError) return delay
    }
    if (fault._tag === "RateLimited" && fault.retryAfter !== undefined) {
      const wait = Check.duration(`${at}.fault.retryAfter`, fault.retryAfter, { finite: true })
      if (wait instanceof InvalidRequestError) return wait
    }
  }
  return undefined
}

/** The options the server runs with, once checked. */
export interface Checked {
  readonly processingDelay: Duration.Duration
  readonly tokenTtl: Duration.Duration
  readonly maxPayloadBytes: number
  readonly maxRecordedRequests: number
  readonly maxResultErrors: number
}

export const checkOptions = (options: Options): Checked | InvalidRequestError => {
  const processingDelay = Check.duration("processingDelay", options.processingDelay ?? 0)
  if (processingDelay instanceof InvalidRequestError) return processingDelay
  const tokenTtl = Check.duration("tokenTtl", options.tokenTtl ?? Duration.minutes(15), { finite: true })
  if (tokenTtl instanceof InvalidRequestError) return tokenTtl
  const checked: Checked = {
    processingDelay,
    tokenTtl,
    maxPayloadBytes: options.maxPayloadBytes ?? defaultMaxPayloadBytes,
    maxRecordedRequests: options.maxRecordedRequests ?? 10_000,
    maxResultErrors: options.maxResultErrors ?? 100
  }
  const counts: ReadonlyArray<readonly [string, unknown, number]> = [
    ["maxPayloadBytes", checked.maxPayloadBytes, 1],
    ["maxRecordedRequests", checked.maxRecordedRequests, 0],
    ["maxResultErrors", checked.maxResultErrors, 0],
    ["port", options.port ?? 0, 0],
    ["rateLimits.apiCallsPerMinute", options.rateLimits?.apiCallsPerMinute ?? 0, 0],
    ["rateLimits.bulkCallsPerMinute", options.rateLimits?.bulkCallsPerMinute ?? 0, 0],
    ["rateLimits.bulkCallsPerHour", options.rateLimits?.bulkCallsPerHour ?? 0, 0],
    ["rateLimits.apiCallsPerCycle", options.rateLimits?.apiCallsPerCycle ?? 0, 0]
  ]
  for (const [path, value, min] of counts) {
    const error = Check.integer(path, value, min)
    if (error) return error
  }
  if ((options.port ?? 0) > 65535) {
    return new InvalidRequestError({ path: "port", reason: `must be from 0 to 65535, got ${options.port}` })
  }
  return checkFaults(options.faults) ?? checked
}
