/**
 * The core client over real HTTP on 127.0.0.1, with both transports an
 * application may choose: undici and fetch.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { MockVoucherifyServer } from "../src/testing/index.js"
import { Voucherify } from "../src/Voucherify.js"
import * as VoucherifyModule from "../src/Voucherify.js"

const transports: Array<[string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["fetch", FetchHttpClient.layer]
]

const clientOver = (transport: Layer.Layer<HttpClient.HttpClient>, options: MockVoucherifyServer.Options = {}) =>
  MockVoucherifyServer.layerTest({ ...options, client: { retry: { maxRetries: 0 } }, httpClient: transport })

describe.each(transports)("Voucherify over real HTTP (%s)", (_name, transport) => {
  it.live("every method's happy path, and an action followed through ENQUEUED, IN_PROGRESS, DONE", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const server = yield* MockVoucherifyServer.MockVoucherifyServer

      const products = yield* voucherify.updateProductsMetadataInBulk({
        source_ids: ["123-567-3433", "test_volleyball"],
        metadata: { label: true, origin: "PL" }
      })
      expect(products.async_action_id).toMatch(/^aa_[0-9a-f]+$/)
      // processing takes a second: the action is first seen queued or running
      const first = yield* voucherify.getAsyncAction(products.async_action_id)
      const customers = yield* voucherify.updateCustomersMetadataInBulk({
        source_ids: ["cust_1"],
        metadata: { tier: "gold" }
      })
      const vouchers = yield* voucherify.updateVouchersMetadataInBulk({
        codes: ["SUMMER-10", "NO-SUCH-CODE"],
        metadata: { season: "summer" }
      })

      const done = yield* voucherify.awaitAsyncAction(products.async_action_id, {
        schedule: Schedule.spaced("50 millis")
      })
      expect(first.status === "ENQUEUED" || first.status === "IN_PROGRESS").toBe(true)
      expect(done.status).toBe("DONE")
      expect(done.type).toBe("PRODUCTS.METADATA_UPDATE")
      expect(done.result?.done_count).toBe(2)

      expect((yield* voucherify.awaitAsyncAction(customers.async_action_id)).type).toBe("CUSTOMERS.METADATA_UPDATE")
      const voucherAction = yield* voucherify.awaitAsyncAction(vouchers.async_action_id)
      expect(voucherAction.result?.done_count).toBe(1)
      expect(voucherAction.result?.failed_count).toBe(1)
      expect(voucherAction.result?.errors?.[0]?.code).toBe("NO-SUCH-CODE")

      const list = yield* voucherify.listAsyncActions({ limit: 2 })
      expect(list.async_actions).toHaveLength(2)
      expect(list.has_more).toBe(true)

      expect(yield* server.checkMetadata("products", ["123-567-3433", "test_volleyball"], { label: true, origin: "PL" }))
        .toMatchObject({ checked: 2, missing: 0, mismatched: 0 })
      expect(yield* server.checkMetadata("customers", ["cust_1"], { tier: "gold" })).toMatchObject({ missing: 0 })

      const missing = yield* Effect.flip(voucherify.getAsyncAction("aa_000000000000000000"))
      expect(missing._tag).toBe("NotFoundError")
      expect(missing).toHaveProperty("resource_type", "async_action")
    }).pipe(
      Effect.provide(clientOver(transport, { processingDelay: "1 second", records: { vouchers: ["SUMMER-10"] } }))
    ))

  it.live("the server's 413 and 401 reach the caller as typed errors", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const clientWith = (appToken: Redacted.Redacted<string>) =>
        VoucherifyModule.layer({
          appId: server.appId,
          appToken,
          baseUrl: server.baseUrl,
          retry: { maxRetries: 0 },
          // above the server's limit, so that the server is the one to refuse
          maxPayloadBytes: 20_000_000
        }).pipe(Layer.provide(transport))

      const tooLarge = yield* Effect.flip(
        Effect.flatMap(Voucherify, (v) =>
          v.updateProductsMetadataInBulk({ source_ids: ["x".repeat(11_000_000)], metadata: {} })).pipe(
            Effect.provide(clientWith(server.appToken))
          )
      )
      expect(tooLarge._tag).toBe("PayloadTooLargeError")
      expect(tooLarge).toHaveProperty("source", "server")
      expect(tooLarge).toHaveProperty("limit", 10485760)

      const unauthorized = yield* Effect.flip(
        Effect.flatMap(Voucherify, (v) => v.getAsyncAction("aa_1")).pipe(
          Effect.provide(clientWith(Redacted.make("wrong-token")))
        )
      )
      expect(unauthorized._tag).toBe("UnauthorizedError")
      expect(unauthorized).toHaveProperty("key", "unauthorized")
    }).pipe(Effect.provide(MockVoucherifyServer.layer())))

  it.live("a redirect is refused, not followed: nothing reaches the other address", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      // a 302 to a second server on another loopback address, which would log any request it got
      const other = yield* MockVoucherifyServer.MockVoucherifyServer.pipe(
        Effect.provide(MockVoucherifyServer.layer({ host: "127.0.0.2" }))
      )
      yield* server.setFaults({
        rules: [{ fault: { _tag: "Redirect", status: 302, location: `${other.baseUrl}/v1/async-actions/aa_1` } }]
      })
      const error = yield* Effect.flip(voucherify.getAsyncAction("aa_1"))
      expect(error._tag).toBe("TransportError")
      expect(error).toHaveProperty("reason", "Redirect")
      expect(error).toHaveProperty("status", 302)
      expect(yield* other.requests).toEqual([])
    }).pipe(Effect.provide(clientOver(transport))))
})
