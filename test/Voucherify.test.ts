import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { Voucherify } from "../src/Voucherify.js"
import { APP_ID, clientWith, TOKEN } from "./support/client.js"

const accepted = { status: 202, body: { async_action_id: "aa_0a875d56c805df6601" } }
const seedBody = { source_ids: ["123-567-3433", "test_volleyball"], metadata: { label: true, origin: "PL" } }

const action = (status: string, extra: object = {}) => ({
  status: 200,
  body: {
    id: "aa_0c5554869b97b633b4",
    type: "PRODUCTS.METADATA_UPDATE",
    status,
    created_at: "2023-01-20T08:54:01.582Z",
    updated_at: "2023-01-20T08:54:02.436Z",
    request_id: "v-0c55548694c418f9dd",
    progress: status === "DONE" ? 100 : 0,
    object: "async_action",
    ...extra
  }
})

describe("Voucherify over a transport double", () => {
  it.effect("a bulk answer carries the rate-limit headers it came with, retryAt in epoch milliseconds", () => {
    const quota = { "x-rate-limit-type": "bulk_api_calls", "x-rate-limit-limit": "10", "x-rate-limit-remaining": "0", "x-rate-limit-retry": "1800" }
    const { layer } = clientWith([{ ...accepted, headers: quota }, accepted])
    return Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const limited = yield* voucherify.updateProductsMetadataInBulk(seedBody)
      expect(limited).toEqual({
        async_action_id: "aa_0a875d56c805df6601",
        rateLimit: { limitType: "bulk_api_calls", limit: 10, remaining: 0, retryAt: 1_800_000 }
      })
      const plain = yield* voucherify.updateProductsMetadataInBulk(seedBody)
      expect(plain.rateLimit).toBeUndefined()
    }).pipe(Effect.provide(layer))
  })

  it.effect("sends the documented request for updateProductsMetadataInBulk", () => {
    const { layer, requests } = clientWith([accepted])
    return Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const result = yield* voucherify.updateProductsMetadataInBulk(seedBody)
      expect(result.async_action_id).toBe("aa_0a875d56c805df6601")
      expect(requests).toHaveLength(1)
      const [request] = requests
      expect(request.method).toBe("POST")
      expect(request.url).toBe("https://api.voucherify.io/v1/products/metadata/async")
      expect(request.body).toBe(
        `{"source_ids":["123-567-3433","test_volleyball"],"metadata":{"label":true,"origin":"PL"}}`
      )
      expect(request.headers).toEqual({
        "accept": "application/json",
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(request.body)),
        "user-agent": "effect-voucherify/0.1.0 (node)",
        "x-app-id": APP_ID,
        "x-app-token": TOKEN,
        "x-voucherify-api-version": "v2018-08-01",
        "x-voucherify-channel": "effect-voucherify/0.1.0"
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("targets the sibling endpoints, the cluster and a free base URL", () =>
    Effect.gen(function*() {
      const customers = clientWith([accepted], { cluster: "us1.api" })
      yield* Effect.flatMap(Voucherify, (v) => v.updateCustomersMetadataInBulk(seedBody)).pipe(
        Effect.provide(customers.layer)
      )
      expect(customers.requests[0].url).toBe("https://us1.api.voucherify.io/v1/customers/metadata/async")

      const vouchers = clientWith([{ status: 200, body: { async_action_id: "aa_1" } }], {
        baseUrl: "https://vouchers.example.com/proxy/"
      })
      const result = yield* Effect.flatMap(
        Voucherify,
        (v) => v.updateVouchersMetadataInBulk({ codes: ["CODE-1"], metadata: { a: 1 } })
      ).pipe(Effect.provide(vouchers.layer))
      expect(result.async_action_id).toBe("aa_1")
      expect(vouchers.requests[0].url).toBe("https://vouchers.example.com/proxy/v1/vouchers/metadata/async")
      expect(vouchers.requests[0].body).toBe(`{"codes":["CODE-1"],"metadata":{"a":1}}`)
    }))

  it.effect("refuses bad input locally and sends nothing", () => {
    const { layer, requests } = clientWith([accepted], { maxPayloadBytes: 200 })
    return Effect.gen(function*() {
      const v = yield* Voucherify
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const cases: Array<[unknown, unknown, string]> = [
        [[], {}, "source_ids"],
        [["ok", ""], {}, "source_ids[1]"],
        [["ok"], null, "metadata"],
        [["ok"], [1, 2], "metadata"],
        [["ok"], "text", "metadata"],
        [["ok"], { n: 10n }, "metadata.n"],
        [["ok"], cyclic, "metadata.self"],
        [["ok"], { nested: { f: () => 1 } }, "metadata.nested.f"],
        [["ok"], { x: Number.NaN }, "metadata.x"],
        [["ok"], { u: undefined }, "metadata.u"],
        [["ok"], new Map(), "metadata"]
      ]
      for (const [source_ids, metadata, path] of cases) {
        const error = yield* Effect.flip(v.updateProductsMetadataInBulk({ source_ids, metadata } as any))
        expect(error._tag, path).toBe("InvalidRequestError")
        expect(error._tag === "InvalidRequestError" && error.path, path).toBe(path)
        expect(error.message).toContain(path)
      }
      const tooLarge = yield* Effect.flip(
        v.updateProductsMetadataInBulk({ source_ids: ["x".repeat(300)], metadata: {} })
      )
      expect(tooLarge._tag).toBe("PayloadTooLargeError")
      expect(tooLarge._tag === "PayloadTooLargeError" && [tooLarge.source, tooLarge.limit, tooLarge.bytes]).toEqual([
        "local",
        200,
        JSON.stringify({ source_ids: ["x".repeat(300)], metadata: {} }).length
      ])
      expect(tooLarge.message).toContain("nothing was sent")
      expect(requests).toHaveLength(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("treats a 2xx that is not the documented body as a ResponseDecodeError", () =>
    Effect.gen(function*() {
      for (const reply of [{ status: 202, body: "<html>oops</html>" }, { status: 202, body: { id: 1 } }]) {
        const { layer } = clientWith([reply])
        const error = yield* Effect.flip(
          Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk(seedBody)).pipe(Effect.provide(layer))
        )
        expect(error).toMatchObject({ _tag: "ResponseDecodeError", status: 202 })
      }
    }))

  it.effect("decodes async actions leniently: the documented example, legacy results, new types and fields", () =>
    Effect.gen(function*() {
      const documented = action("DONE", {
        operation_status: "SUCCESS",
        processing_time: 854,
        result: {
          done_count: 3,
          failed_count: 0,
          reports: ["https://download.voucherify.io/report.csv"],
          reports_available_till: "2024-11-06T08:26:13.304Z",
          errors: [],
          brand_new_field: { nested: true }
        },
        user: { id: "u1" },
        log_id: "log_1"
      })
      const legacy = action("DONE", {
        type: "SOMETHING.NEW_IN_2027",
        result: { results: [{ source_id: "p1", updated: true, found: false }], done_count: 1 }
      })
      const { layer } = clientWith([documented, legacy])
      const v = yield* Effect.provide(Voucherify, layer)
      const first = yield* v.getAsyncAction("aa_0c5554869b97b633b4")
      expect(first.status).toBe("DONE")
      expect(first.result?.done_count).toBe(3)
      expect(first.result?.reports?.map(Redacted.value)).toEqual(["https://download.voucherify.io/report.csv"])
      expect(first.result?.["brand_new_field"]).toEqual({ nested: true })
      const second = yield* v.getAsyncAction("aa_0c5554869b97b633b4")
      expect(second.type).toBe("SOMETHING.NEW_IN_2027")
      expect(second.result?.results?.[0]).toEqual({ source_id: "p1", updated: true, found: false })
      const bad = yield* Effect.flip(v.getAsyncAction("../v1/oauth"))
      expect(bad._tag).toBe("InvalidRequestError")
    }))

  it.effect("lists async actions with limit and end_date", () => {
    const { layer, requests } = clientWith([{
      status: 200,
      body: { object: "list", data_ref: "async_actions", async_actions: [action("DONE").body], has_more: true }
    }])
    return Effect.gen(function*() {
      const v = yield* Voucherify
      const list = yield* v.listAsyncActions({ limit: 10, end_date: "2026-11-01" })
      expect(list.has_more).toBe(true)
      expect(list.async_actions).toHaveLength(1)
      expect(requests[0].url).toBe("https://api.voucherify.io/v1/async-actions?limit=10&end_date=2026-11-01")
      expect((yield* Effect.flip(v.listAsyncActions({ limit: 500 })))._tag).toBe("InvalidRequestError")
    }).pipe(Effect.provide(layer))
  })

  it.effect("awaitAsyncAction polls through ENQUEUED and IN_PROGRESS to DONE on its schedule", () => {
    const { layer, requests } = clientWith([action("ENQUEUED"), action("IN_PROGRESS"), action("DONE")])
    return Effect.gen(function*() {
      const v = yield* Voucherify
      const fiber = yield* Effect.fork(v.awaitAsyncAction("aa_0c5554869b97b633b4"))
      yield* TestClock.adjust("100 millis")
      expect(requests).toHaveLength(1)
      // about 1 s (jittered between 0.8 and 1.2 s) before the second poll
      yield* TestClock.adjust("1200 millis")
      expect(requests).toHaveLength(2)
      yield* TestClock.adjust("2 seconds")
      const done = yield* Fiber.join(fiber)
      expect(done.status).toBe("DONE")
      expect(requests).toHaveLength(3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("awaitAsyncAction fails with the action when it FAILED", () => {
    const failed = action("FAILED", { result: { errors: [{ message: "boom", key: "x", details: "d" }] } })
    const { layer } = clientWith([action("IN_PROGRESS"), failed])
    return Effect.gen(function*() {
      const v = yield* Voucherify
      const fiber = yield* Effect.fork(Effect.flip(v.awaitAsyncAction("aa_0c5554869b97b633b4")))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("AsyncActionFailedError")
      expect(error._tag === "AsyncActionFailedError" && error.action.status).toBe("FAILED")
      expect(error.message).toContain("boom")
    }).pipe(Effect.provide(layer))
  })

  it.effect("awaitAsyncAction gives up at its deadline and says the action may still complete", () => {
    const { layer } = clientWith([action("IN_PROGRESS")])
    return Effect.gen(function*() {
      const v = yield* Voucherify
      const fiber = yield* Effect.fork(v.awaitAsyncAction("aa_0c5554869b97b633b4"))
      yield* TestClock.adjust("9 minutes")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(exit)
      expect(error._tag).toBe("AsyncActionTimeoutError")
      expect(error.message).toContain("may still complete")
      expect(error.message).toContain("IN_PROGRESS")
    }).pipe(Effect.provide(layer))
  })
})
