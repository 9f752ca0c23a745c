/**
 * Turns a non-2xx answer into the typed error a caller can act on.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { readTextPrefix } from "./boundedBody.js"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  ServerError,
  TransportError,
  UnauthorizedError,
  type VoucherifyError
} from "../../VoucherifyError.js"
import type { BulkAccepted } from "../../VoucherifySchema.js"
import { type ErrorBody, ErrorBodyFromWire } from "./wire.js"

/** What an answer's `X-Rate-Limit-*` headers said. */
export type RateLimitHeaders = NonNullable<BulkAccepted["rateLimit"]>

const decodeErrorBody = Schema.decodeUnknownEither(ErrorBodyFromWire)

const snippet = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/**
 * Reads `{code, key, message, ...}`, the gateway's `{statusCode, error,
 * message}`, or, for a body that is not JSON (an HTML 502 page), a short
 * snippet of its text.
 */
export const parseErrorBody = (text: string): ErrorBody => {
  if (text.trim() === "") return {}
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { serverMessage: snippet(text) }
  }
  return Either.getOrElse(decodeErrorBody(json), () => ({ serverMessage: snippet(text) }))
}

const numberHeader = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/**
 * The wait a response asks for: the longer of `Retry-After` (seconds or an
 * HTTP date) and `X-Rate-Limit-Retry` (the epoch second of the next allowed
 * request), measured from `nowMillis`.
 */
export const requestedWait = (
  headers: Readonly<Record<string, string | undefined>>,
  nowMillis: number
): Duration.Duration | undefined => {
  const waits: Array<number> = []
  const retryAfter = headers["retry-after"]
  if (retryAfter !== undefined) {
    const seconds = numberHeader(retryAfter)
    if (seconds !== undefined) waits.push(Math.max(0, seconds * 1000))
    else {
      const date = Date.parse(retryAfter)
      if (Number.isFinite(date)) waits.push(Math.max(0, date - nowMillis))
    }
  }
  const retryAt = numberHeader(headers["x-rate-limit-retry"])
  if (retryAt !== undefined) waits.push(Math.max(0, retryAt * 1000 - nowMillis))
  return waits.length === 0 ? undefined : Duration.millis(Math.max(...waits))
}

/** The `X-Rate-Limit-*` headers of an answer, if it has any. */
export const rateLimitHeaders = (
  headers: Readonly<Record<string, string | undefined>>
): RateLimitHeaders | undefined => {
  const limitType = headers["x-rate-limit-type"]
  const limit = numberHeader(headers["x-rate-limit-limit"])
  const remaining = numberHeader(headers["x-rate-limit-remaining"])
  const retrySeconds = numberHeader(headers["x-rate-limit-retry"])
  if (limitType === undefined && limit === undefined && remaining === undefined && retrySeconds === undefined) {
    return undefined
  }
  return {
    ...(limitType !== undefined ? { limitType } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(retrySeconds !== undefined ? { retryAt: retrySeconds * 1000 } : {})
  }
}

const limitFromMessage = (message: string | undefined): number | undefined => {
  const match = message?.match(/maximum allowed:\s*(\d+)/)
  return match ? Number(match[1]) : undefined
}

/**
 * The typed error for a response whose status is not 2xx. `scrub` removes
 * any credential a misbehaving proxy might echo back into the body.
 */
export const fromResponse = (
  response: HttpClientResponse.HttpClientResponse,
  options: {
    readonly maxPayloadBytes: number
    readonly requestBytes: number | undefined
    readonly nowMillis: number
    readonly scrub: (text: string) => string
    /** The most of the body that is read: an error page is worth its start. */
    readonly maxResponseBytes: number
  }
): Effect.Effect<VoucherifyError> =>
  Effect.gen(function*() {
    const status = response.status
    if (status >= 300 && status < 400) {
      const location = response.headers["location"]
      let target = "no Location header"
      if (location !== undefined) {
        try {
          target = `to ${new URL(location, response.request.url).origin}`
        } catch {
          target = "to an unparsable Location"
        }
      }
      return new TransportError({ reason: "Redirect", status, description: `redirect ${target} refused` })
    }
    const text = yield* readTextPrefix(response, options.maxResponseBytes)
    const body = parseErrorBody(options.scrub(text))
    const fields = { status, ...body }
    switch (status) {
      case 401:
        return new UnauthorizedError(fields)
      case 403:
        return new ForbiddenError(fields)
      case 404:
        return new NotFoundError(fields)
      case 413: {
        const serverMessage = body.serverMessage
        return new PayloadTooLargeError({
          source: "server",
          status: 413,
          limit: limitFromMessage(serverMessage) ?? options.maxPayloadBytes,
          ...(options.requestBytes !== undefined ? { bytes: options.requestBytes } : {}),
          ...(serverMessage !== undefined ? { serverMessage } : {})
        })
      }
      case 429: {
        const retryAfter = requestedWait(response.headers, options.nowMillis)
        const { retryAt: _, ...limits } = rateLimitHeaders(response.headers) ?? {}
        return new RateLimitError({ ...fields, ...(retryAfter !== undefined ? { retryAfter } : {}), ...limits })
      }
    }
    if (status >= 400 && status < 500) return new BadRequestError(fields)
    return new ServerError(fields)
  })
