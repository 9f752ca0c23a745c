import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { Voucherify } from "../src/Voucherify.js"
import { clientWith } from "./support/client.js"
import type { Reply } from "./support/transport.js"

const accepted: Reply = { status: 202, body: { async_action_id: "aa_1" } }
const body = { source_ids: ["p1"], metadata: { a: 1 } }
const update = Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk(body))

/** Runs one update against `replies` with no retries and returns its error. */
const failureOf = (reply: Reply) => {
  const { layer, requests } = clientWith([reply], { retry: { maxRetries: 0 } })
  return Effect.map(Effect.flip(Effect.provide(update, layer)), (error) => ({ error, requests }))
}

describe("VoucherifyHttpClient error mapping", () => {
  it.effect("maps each status and body shape to its typed error", () =>
    Effect.gen(function*() {
      const unauthorized = yield* failureOf({
        status: 401,
        body: { code: 401, message: "Unauthorized", key: "unauthorized" }
      })
      expect(unauthorized.error._tag).toBe("UnauthorizedError")
      expect(unauthorized.error).toHaveProperty("key", "unauthorized")
      expect(unauthorized.error.message).toBe("Voucherify refused the credentials (HTTP 401, key unauthorized): Unauthorized")

      const forbidden = yield* failureOf({
        status: 403,
        body: { code: 403, key: "forbidden", message: "Project is bound to different region", request_id: "v-1" }
      })
      expect(forbidden.error._tag).toBe("ForbiddenError")
      expect(forbidden.error.message).toContain("different region")
      expect(forbidden.error.message).toContain("v-1")

      const notFound = yield* failureOf({
        status: 404,
        body: {
          code: 404,
          key: "not_found",
          message: "Resource not found",
          details: "Cannot find async_action with id aa_x",
          request_id: "v-2",
          resource_id: "aa_x",
          resource_type: "async_action"
        }
      })
      expect(notFound.error._tag).toBe("NotFoundError")
      expect(notFound.error).toHaveProperty("resource_type", "async_action")
      expect(notFound.error).toHaveProperty("resource_id", "aa_x")

      const tooLarge = yield* failureOf({
        status: 413,
        body: {
          statusCode: 413,
          error: "Request Entity Too Large",
          message: "Payload content length greater than maximum allowed: 10485760"
        }
      })
      expect(tooLarge.error._tag).toBe("PayloadTooLargeError")
      expect(tooLarge.error).toHaveProperty("source", "server")
      expect(tooLarge.error).toHaveProperty("status", 413)
      expect(tooLarge.error).toHaveProperty("limit", 10485760)
      expect(tooLarge.error).toHaveProperty("bytes", JSON.stringify(body).length)

      const invalid = yield* failureOf({
        status: 400,
        body: { code: 400, key: "invalid_payload", message: "Invalid payload", details: "source_ids must be an array" }
      })
      expect(invalid.error._tag).toBe("BadRequestError")
      expect(invalid.error).toHaveProperty("status", 400)
      expect(invalid.error).toHaveProperty("details", "source_ids must be an array")

      const limited = yield* failureOf({
        status: 429,
        body: { code: "429", message: "Too many requests hit the API too quickly." },
        headers: {
          "retry-after": "7",
          "x-rate-limit-type": "bulk_api_calls",
          "x-rate-limit-limit": "50",
          "x-rate-limit-remaining": "0"
        }
      })
      expect(limited.error._tag).toBe("RateLimitError")
      expect(limited.error).toHaveProperty("code", "429")
      expect(limited.error).toHaveProperty("limitType", "bulk_api_calls")
      expect(limited.error).toHaveProperty("limit", 50)
      expect(limited.error).toHaveProperty("remaining", 0)
      expect(limited.error._tag === "RateLimitError" && Duration.toSeconds(limited.error.retryAfter!)).toBe(7)

      const server = yield* failureOf({ status: 500, body: { code: 500, key: "internal_error", message: "Oops" } })
      expect(server.error._tag).toBe("ServerError")
      expect(server.error).toHaveProperty("key", "internal_error")

      const gateway = yield* failureOf({ status: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>" })
      expect(gateway.error._tag).toBe("ServerError")
      expect(gateway.error).toHaveProperty("status", 502)
      expect(gateway.error.message).toContain("502 Bad Gateway")

      const gatewayJson = yield* failureOf({
        status: 504,
        body: { statusCode: 504, error: "Gateway Timeout", message: "upstream timed out" }
      })
      expect(gatewayJson.error.message).toContain("Gateway Timeout: upstream timed out")
      expect(gatewayJson.error).toHaveProperty("status", 504)
    }))

  it.effect("keeps the HTTP status apart from a body's code", () =>
    Effect.gen(function*() {
      const { error } = yield* failureOf({ status: 400, body: { code: 1234, key: "x" } })
      expect(error).toHaveProperty("status", 400)
      expect(error).toHaveProperty("code", 1234)
    }))

  it.effect("refuses a redirect and sends nothing to the other host", () =>
    Effect.gen(function*() {
      const { layer, requests } = clientWith([
        { status: 307, headers: { location: "https://evil.example.net/v1/products/metadata/async" } },
        accepted
      ])
      const error = yield* Effect.flip(Effect.provide(update, layer))
      expect(error._tag).toBe("TransportError")
      expect(error).toHaveProperty("reason", "Redirect")
      expect(error.message).toContain("https://evil.example.net")
      expect(requests).toHaveLength(1)
      expect(requests[0].url).toContain("api.voucherify.io")
    }))

  it.effect("sends no trace propagation headers", () =>
    Effect.gen(function*() {
      const { layer, requests } = clientWith([accepted])
      yield* Effect.provide(update, layer).pipe(Effect.withSpan("caller"))
      expect(Object.keys(requests[0].headers).filter((h) => /traceparent|b3|tracestate/.test(h))).toEqual([])
    }))
})

describe("VoucherifyHttpClient retries", () => {
  it.effect("waits for Retry-After before retrying a 429", () => {
    const { layer, requests } = clientWith([
      { status: 429, body: { code: 429 }, headers: { "retry-after": "5", "x-rate-limit-type": "api_calls" } },
      accepted
    ])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.provide(update, layer))
      yield* TestClock.adjust("4900 millis")
      expect(requests).toHaveLength(1)
      yield* TestClock.adjust("200 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.async_action_id).toBe("aa_1")
      expect(requests).toHaveLength(2)
    })
  })

  it.effect("waits until X-Rate-Limit-Retry (epoch seconds) before retrying", () => {
    const { layer, requests } = clientWith([
      { status: 429, body: { code: 429 }, headers: { "x-rate-limit-retry": "20" } },
      accepted
    ])
    return Effect.gen(function*() {
      yield* TestClock.setTime(Duration.toMillis("10 seconds"))
      const fiber = yield* Effect.fork(Effect.provide(update, layer))
      yield* TestClock.adjust("9900 millis")
      expect(requests).toHaveLength(1)
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(fiber)
      expect(requests).toHaveLength(2)
    })
  })

  it.effect("retries a 503 with backoff, then fails with ServerError after the configured count", () => {
    const { layer, requests } = clientWith([{ status: 503, body: "Service Unavailable" }], {
      retry: { maxRetries: 2, baseDelay: "1 second", maxDelay: "10 seconds" }
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(Effect.provide(update, layer)))
      yield* TestClock.adjust("700 millis")
      expect(requests).toHaveLength(1) // the first retry waits 0.8 to 1.2 s
      yield* TestClock.adjust("600 millis")
      expect(requests).toHaveLength(2)
      yield* TestClock.adjust("3 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("ServerError")
      expect(error).toHaveProperty("status", 503)
      expect(requests).toHaveLength(3)
    })
  })

  it.effect("never retries 400, 401, 403, 404 or 413", () =>
    Effect.gen(function*() {
      for (const status of [400, 401, 403, 404, 413]) {
        const { layer, requests } = clientWith([{ status, body: { code: status } }, accepted])
        const error = yield* Effect.flip(Effect.provide(update, layer))
        expect(error).toHaveProperty("status", status)
        expect(requests, `status ${status}`).toHaveLength(1)
      }
    }))

  it.effect("retries an attempt that timed out", () => {
    const { layer, requests } = clientWith([{ hang: true }, accepted], { timeout: "2 seconds" })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.provide(update, layer))
      yield* TestClock.adjust("2 seconds")
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.async_action_id).toBe("aa_1")
      expect(requests).toHaveLength(2)
    })
  })

  it.effect("reports a timeout that outlasts the retries as a TransportError", () => {
    const { layer, requests } = clientWith([{ hang: true }], { timeout: "2 seconds", retry: { maxRetries: 1 } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(Effect.provide(update, layer)))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toHaveProperty("reason", "Timeout")
      expect(requests).toHaveLength(2)
    })
  })

  it.effect("retries a transport error", () => {
    const { layer, requests } = clientWith([{ transportError: "socket hang up" }, accepted])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.provide(update, layer))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(requests).toHaveLength(2)
    })
  })

  it.effect("fails at once on an api_calls_cycle 429, and on a wait longer than maxRetryAfter", () =>
    Effect.gen(function*() {
      const cycle = clientWith([
        { status: 429, body: { code: 429 }, headers: { "retry-after": "1", "x-rate-limit-type": "api_calls_cycle" } },
        accepted
      ])
      const cycleError = yield* Effect.flip(Effect.provide(update, cycle.layer))
      expect(cycleError).toHaveProperty("limitType", "api_calls_cycle")
      expect(cycle.requests).toHaveLength(1)

      const hourly = clientWith([
        { status: 429, body: { code: 429 }, headers: { "retry-after": "3600", "x-rate-limit-type": "bulk_api_calls" } },
        accepted
      ])
      const hourlyError = yield* Effect.flip(Effect.provide(update, hourly.layer))
      // the bulk quota is never retried request by request, even a short wait: BulkMetadata waits it out for the whole run
      const shortBulk = clientWith([
        { status: 429, body: { code: 429 }, headers: { "retry-after": "2", "x-rate-limit-type": "bulk_api_calls" } },
        accepted
      ])
      const shortBulkError = yield* Effect.flip(Effect.provide(update, shortBulk.layer))
      expect(shortBulkError).toMatchObject({ _tag: "RateLimitError", limitType: "bulk_api_calls" })
      expect(shortBulk.requests).toHaveLength(1)
      expect(hourlyError._tag).toBe("RateLimitError")
      expect(hourlyError._tag === "RateLimitError" && Duration.toSeconds(hourlyError.retryAfter!)).toBe(3600)
      expect(hourlyError.message).toContain("retry after 1h")
      expect(hourly.requests).toHaveLength(1)
    }))
})
