/**
 * The mock server's per-record endpoints on the wire, with a plain `fetch`
 * and with the library's client: the gateway's limit and 413, the app keys
 * and OAuth scopes, the bulk quota, faults, `invalid_payload` for a record
 * the spec refuses, `*.BULK_UPDATE` actions, report files, and the record
 * look-up showing each record's fields.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as Voucherify from "../src/Voucherify.js"

const { MockVoucherifyServer: Server } = MockVoucherifyServer

const serverWithClient = (options: MockVoucherifyServer.Options = {}, client?: MockVoucherifyServer.ClientOptions) =>
  MockVoucherifyServer.layerTest({ ...options, client: { retry: { maxRetries: 0 }, ...client } })

/** A plain `fetch` of a JSON body to the server, with the app keys unless `keys` is false. */
const post = (path: string, body: unknown, keys = true) =>
  Effect.gen(function*() {
    const server = yield* Server
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (keys) {
      headers["x-app-id"] = server.appId
      headers["x-app-token"] = Redacted.value(server.appToken)
    }
    return yield* Effect.promise(async () => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method: "POST",
        headers,
        body: typeof body === "string" ? body : JSON.stringify(body)
      })
      return { status: response.status, body: await response.json() as any }
    })
  })

const get = (path: string) =>
  Effect.gen(function*() {
    const server = yield* Server
    return yield* Effect.promise(async () => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        headers: { "x-app-id": server.appId, "x-app-token": Redacted.value(server.appToken) }
      })
      return { status: response.status, body: await response.json() as any }
    })
  })

describe("MockVoucherifyServer per-record endpoints", () => {
  it.live("accept an array of records with 202, run a *.BULK_UPDATE action and store each record's fields", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const accepted = yield* post("/v1/products/bulk/async", [
        { source_id: "p1", name: "Ball", price: 1999, metadata: { tier: "gold" } },
        { source_id: "p2", image_url: "https://img.example/p2.png" }
      ])
      expect(accepted.status).toBe(202)
      expect(accepted.body.async_action_id).toMatch(/^aa_[0-9a-f]{18}$/)
      const action = yield* get(`/v1/async-actions/${accepted.body.async_action_id}`)
      expect(action.body).toMatchObject({ type: "PRODUCTS.BULK_UPDATE", status: "DONE", result: { done_count: 2, failed_count: 0 } })
      const product = yield* get("/v1/products/p1")
      expect(product.body).toMatchObject({ source_id: "p1", object: "product", name: "Ball", price: 1999, metadata: { tier: "gold", old: true } })
      expect(Option.getOrThrow(yield* server.getRecord("products", "p2"))).toEqual({
        fields: { image_url: "https://img.example/p2.png" },
        metadata: {}
      })

      const customers = yield* post("/v1/customers/bulk/async", [{ source_id: "c1", address: { city: "Łódź" }, metadata: { vip: true } }])
      expect((yield* get(`/v1/async-actions/${customers.body.async_action_id}`)).body.type).toBe("CUSTOMERS.BULK_UPDATE")
      expect((yield* get("/v1/customers/c1")).body).toMatchObject({ address: { city: "Łódź" }, metadata: { vip: true } })

      // vouchers: only known codes are updated; the others are named in the result and the report
      const vouchers = yield* post("/v1/vouchers/bulk/async", [{ code: "V1", metadata: { a: 1 } }, { code: "V9", metadata: { a: 2 } }])
      const voucherAction = (yield* get(`/v1/async-actions/${vouchers.body.async_action_id}`)).body
      expect(voucherAction).toMatchObject({
        type: "VOUCHERS.BULK_UPDATE",
        result: { done_count: 1, failed_count: 1, errors: [{ code: "V9", key: "not_found" }] }
      })
      expect(yield* server.getRecord("vouchers", "V9")).toEqual(Option.none())
    }).pipe(Effect.provide(serverWithClient({ records: { products: { p1: { old: true } }, vouchers: ["V1"] } }))))

  it.live("refuse what the spec refuses with 400 invalid_payload, and nothing is queued", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
        ["{", /not valid JSON/],
        [[], /non-empty array/],
        [{ source_id: "p" }, /non-empty array/],
        [[{ source_id: "p", price: 1.5 }], /Item 0 property \.price: expected an integer/],
        [[{ source_id: "p" }, { source_id: "q", metdata: {} }], /Item 1 property \.metdata: unknown field/],
        [[{ name: "no id" }], /Item 0 property \.source_id: is missing/]
      ]
      for (const [body, details] of cases) {
        const refused = yield* post("/v1/products/bulk/async", body)
        expect(refused.status).toBe(400)
        expect(refused.body).toMatchObject({ code: 400, key: "invalid_payload" })
        expect(refused.body.details).toMatch(details)
      }
      const voucher = yield* post("/v1/vouchers/bulk/async", [{ code: "V1" }])
      expect(voucher.body.details).toMatch(/property \.metadata: is missing/)
      expect(yield* server.asyncActions).toEqual([])
    }).pipe(Effect.provide(serverWithClient())))

  it.live("answer 413 over the limit, 401 without the keys, 429 past the bulk quota, and inject faults", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const tooLarge = yield* post("/v1/customers/bulk/async", [{ source_id: "c", name: "x".repeat(300) }])
      expect(tooLarge).toMatchObject({ status: 413, body: { statusCode: 413, error: "Request Entity Too Large" } })
      const unauthorized = yield* post("/v1/customers/bulk/async", [{ source_id: "c" }], false)
      expect(unauthorized).toMatchObject({ status: 401, body: { key: "unauthorized" } })
      expect((yield* post("/v1/customers/bulk/async", [{ source_id: "c" }])).status).toBe(202)
      const limited = yield* post("/v1/customers/bulk/async", [{ source_id: "c" }])
      expect(limited.status).toBe(429)
      // the per-record and the metadata endpoints spend one quota
      expect((yield* post("/v1/customers/metadata/async", { source_ids: ["c"], metadata: {} })).status).toBe(429)

      yield* server.reset
      yield* server.setFaults({ rules: [{ fault: { _tag: "ServerError", status: 502 }, path: "/v1/vouchers/bulk/async" }] })
      const voucherify = yield* Voucherify.Voucherify
      const failed = yield* Effect.flip(voucherify.updateVouchersInBulk([{ code: "V", metadata: {} }]))
      expect(failed).toMatchObject({ _tag: "ServerError", status: 502 })
      const log = yield* server.requests
      expect(log.at(-1)).toMatchObject({ url: "/v1/vouchers/bulk/async", fault: "ServerError", status: 502 })
    }).pipe(Effect.provide(serverWithClient({ maxPayloadBytes: 200, rateLimits: { bulkCallsPerMinute: 1 } }))))

  it.live("serve the client's calls through OAuth with the target's scope, and the report file of a finished update", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify.Voucherify
      const accepted = yield* voucherify.updateProductsInBulk([{ source_id: "new", metadata: { a: 1 } }, { source_id: "old" }])
      const action = yield* voucherify.awaitAsyncAction(accepted.async_action_id)
      const rows = yield* Stream.runCollect(voucherify.readReport(action.result!.reports![0]!))
      expect([...rows].map((row) => [row.id, row.found, row.updated])).toEqual([["new", false, true], ["old", true, true]])
    }).pipe(Effect.provide(serverWithClient({ records: { products: ["old"] } }, { oauthScopes: ["products", "async-actions"] }))))
})
