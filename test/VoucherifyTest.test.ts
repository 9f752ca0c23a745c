import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { encodeBulkRequest, type EncodedBulkRequest } from "../src/internal/bulk/payload.js"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { type MockVoucherifyServer, VoucherifyTest } from "../src/testing/index.js"
import { Voucherify } from "../src/Voucherify.js"
import type { Metadata } from "../src/VoucherifySchema.js"
import { joinAdvancing } from "./support/clock.js"

// errors are compared by shape: the client made them from the handler's answers
const rateLimitedShape = { _tag: "RateLimitError", status: 429 }
const serverErrorShape = { _tag: "ServerError", status: 503 }

/** Runs `self` against a fresh in-memory Voucherify. */
const withTest = (options?: VoucherifyTest.Options) => Effect.provide(VoucherifyTest.layer(options))

const encoded = (target: "products" | "customers" | "vouchers", ids: ReadonlyArray<string>, metadata: Metadata) => {
  const request = encodeBulkRequest(target, ids, metadata, 10_485_760)
  if (!("body" in request)) throw request
  return request
}

describe("VoucherifyTest bulk updates", () => {
  it.effect("runs an action ENQUEUED -> IN_PROGRESS -> DONE on the TestClock and merges metadata", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const { async_action_id: id } = yield* voucherify.updateProductsMetadataInBulk({
        source_ids: ["p1", "p2"],
        metadata: { origin: "PL", label: true }
      })

      const enqueued = yield* voucherify.getAsyncAction(id)
      expect(enqueued).toMatchObject({ id, type: "PRODUCTS.METADATA_UPDATE", status: "ENQUEUED", progress: 0 })
      expect(enqueued.result).toBeUndefined()
      expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ color: "red" }))

      yield* TestClock.adjust("500 millis")
      const running = yield* voucherify.getAsyncAction(id)
      expect(running).toMatchObject({ status: "IN_PROGRESS", progress: 50 })
      expect(yield* state.metadata("products", "p2")).toEqual(Option.none())

      yield* TestClock.adjust("500 millis")
      const done = yield* voucherify.getAsyncAction(id)
      expect(done).toMatchObject({
        status: "DONE",
        operation_status: "SUCCESS",
        progress: 100,
        processing_time: 1000,
        object: "async_action",
        result: { done_count: 2, failed_count: 0, errors: [] }
      })
      expect(done.isTerminal).toBe(true)
      expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ color: "red", origin: "PL", label: true }))
      expect(yield* state.metadata("products", "p2")).toEqual(Option.some({ origin: "PL", label: true }))
    }).pipe(withTest({ records: { products: { p1: { color: "red" } } } })))

  it.effect("creates unknown customers (upsert)", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const { async_action_id: id } = yield* voucherify.updateCustomersMetadataInBulk({
        source_ids: ["c1", "typo"],
        metadata: { tier: 2 }
      })
      yield* TestClock.adjust("1 second")
      const action = yield* voucherify.getAsyncAction(id)
      expect(action.type).toBe("CUSTOMERS.METADATA_UPDATE")
      expect(action.result).toMatchObject({ done_count: 2, failed_count: 0, errors: [] })
      const customers = yield* state.records("customers")
      expect(Object.fromEntries(customers)).toEqual({ c1: { vip: true, tier: 2 }, typo: { tier: 2 } })
    }).pipe(withTest({ records: { customers: { c1: { vip: true } } } })))

  it.effect("does not create unknown vouchers and reports them in result.errors", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const { async_action_id: id } = yield* voucherify.updateVouchersMetadataInBulk({
        codes: ["SUMMER-10", "NOPE"],
        metadata: { campaign: "summer" }
      })
      yield* TestClock.adjust("1 second")
      const action = yield* voucherify.getAsyncAction(id)
      expect(action.type).toBe("VOUCHERS.METADATA_UPDATE")
      expect(action.result).toMatchObject({
        done_count: 1,
        failed_count: 1,
        errors: [{
          message: "Resource not found",
          details: "Cannot find voucher with id NOPE",
          key: "not_found",
          code: "NOPE"
        }]
      })
      expect(yield* state.metadata("vouchers", "SUMMER-10")).toEqual(Option.some({ campaign: "summer" }))
      expect(yield* state.metadata("vouchers", "NOPE")).toEqual(Option.none())
    }).pipe(withTest({ records: { vouchers: ["SUMMER-10"] } })))

  it.effect("counts a repeated id once, merged once, and a repeated unknown code once", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const products = yield* voucherify.updateProductsMetadataInBulk({
        source_ids: ["p1", "p1", "p2", "p1"],
        metadata: { b: 2 }
      })
      const vouchers = yield* voucherify.updateVouchersMetadataInBulk({ codes: ["V", "X", "X"], metadata: { c: 3 } })
      yield* TestClock.adjust("2 seconds")
      expect((yield* voucherify.getAsyncAction(products.async_action_id)).result).toMatchObject({
        done_count: 2,
        failed_count: 0,
        errors: []
      })
      expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ a: 1, b: 2 }))
      expect((yield* voucherify.getAsyncAction(vouchers.async_action_id)).result).toMatchObject({
        done_count: 1,
        failed_count: 1,
        errors: [{ code: "X" }]
      })
    }).pipe(withTest({ records: { products: { p1: { a: 1 } }, vouchers: ["V"] }, processingDelay: "1 second" })))

  it.effect("stores what JSON carries, not the caller's objects", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const metadata = { nested: { n: 1 }, at: new Date(0) }
      yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata })
      metadata.nested.n = 2
      yield* TestClock.adjust("1 second")
      expect(yield* state.metadata("products", "p1")).toEqual(
        Option.some({ nested: { n: 1 }, at: "1970-01-01T00:00:00.000Z" })
      )
    }).pipe(withTest()))

  it.effect("sends an encoded body as is", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const request = encoded("products", ["p1", "p2", "p3"], { batch: 7 })
      const { async_action_id: id } = yield* voucherify.sendEncodedBulkRequest(request)
      yield* TestClock.adjust("1 second")
      expect((yield* voucherify.getAsyncAction(id)).result).toMatchObject({ done_count: 3 })
      expect((yield* state.records("products")).size).toBe(3)
      const [call] = yield* state.calls
      expect(call).toEqual({
        method: "sendEncodedBulkRequest",
        at: 0,
        target: "products",
        ids: 3,
        bytes: request.body.byteLength,
        asyncActionId: id,
        outcome: "success"
      })
    }).pipe(withTest()))

  it.effect("answers 400 invalid_payload to an encoded body that is not a valid request", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const bodies = ["{not json", `{"source_ids":[],"metadata":{}}`, `{"codes":["A"],"metadata":{}}`]
      for (const text of bodies) {
        const request: EncodedBulkRequest = { target: "products", body: new TextEncoder().encode(text), ids: 1 }
        const error = yield* Effect.flip(voucherify.sendEncodedBulkRequest(request))
        expect(error).toMatchObject({ _tag: "BadRequestError", status: 400, key: "invalid_payload" })
      }
      expect(yield* state.asyncActions).toEqual([])
    }).pipe(withTest()))
})

describe("VoucherifyTest validation", () => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const cases: ReadonlyArray<readonly [string, unknown, unknown, object]> = [
    ["an empty ids array", [], { a: 1 }, { path: "source_ids" }],
    ["an empty id", ["p1", ""], { a: 1 }, { path: "source_ids[1]", offset: 1 }],
    ["null metadata", ["p1"], null, { path: "metadata" }],
    ["array metadata", ["p1"], [1, 2], { path: "metadata" }],
    ["a BigInt in metadata", ["p1"], { big: 1n }, { path: "metadata.big" }],
    ["a cycle in metadata", ["p1"], cyclic, { path: "metadata.self" }]
  ]

  for (const [name, ids, metadata, expected] of cases) {
    it.effect(`refuses ${name} locally, like the real service`, () =>
      Effect.gen(function*() {
        const voucherify = yield* Voucherify
        const state = yield* VoucherifyTest.VoucherifyTestState
        const error = yield* Effect.flip(
          voucherify.updateProductsMetadataInBulk({ source_ids: ids, metadata } as never)
        )
        expect(error).toMatchObject({ _tag: "InvalidRequestError", ...expected })
        expect(yield* state.asyncActions).toEqual([])
        const [call] = yield* state.calls
        expect(call).toMatchObject({ method: "updateProductsMetadataInBulk", target: "products", outcome: "failure" })
        expect(call?.error).toBe(error)
      }).pipe(withTest()))
  }

  it.effect("refuses vouchers named by an empty code with the codes path", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const error = yield* Effect.flip(voucherify.updateVouchersMetadataInBulk({ codes: [""], metadata: {} }))
      expect(error).toMatchObject({ _tag: "InvalidRequestError", path: "codes[0]" })
    }).pipe(withTest()))

  it.effect("fails with a local PayloadTooLargeError over maxPayloadBytes and sends nothing", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const body = { source_ids: ["a-long-product-id", "another-long-id"], metadata: { note: "x".repeat(40) } }
      const bytes = JSON.stringify(body).length
      const error = yield* Effect.flip(voucherify.updateCustomersMetadataInBulk(body))
      expect(error).toMatchObject({ _tag: "PayloadTooLargeError", source: "local", bytes, limit: 64 })

      const tooLarge = yield* Effect.flip(voucherify.sendEncodedBulkRequest(encoded("customers", body.source_ids, body.metadata)))
      expect(tooLarge).toMatchObject({ _tag: "PayloadTooLargeError", source: "local", bytes, limit: 64 })

      expect(yield* state.asyncActions).toEqual([])
      expect((yield* state.calls).map((call) => [call.method, call.bytes, call.outcome])).toEqual([
        ["updateCustomersMetadataInBulk", bytes, "failure"],
        ["sendEncodedBulkRequest", bytes, "failure"]
      ])
    }).pipe(withTest({ maxPayloadBytes: 64 })))

  it.effect("accepts a body of exactly maxPayloadBytes", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const request = encoded("products", ["p1"], { a: 1 })
      const accepted = yield* Effect.provide(
        voucherify.sendEncodedBulkRequest(request),
        VoucherifyTest.layer({ maxPayloadBytes: request.body.byteLength })
      )
      expect(accepted.async_action_id).toMatch(/^aa_/)
    }).pipe(withTest()))
})

describe("VoucherifyTest async actions", () => {
  it.effect("processes actions one at a time, in acceptance order", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const first = yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { v: 1, a: true } })
      const second = yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { v: 2 } })
      const third = yield* voucherify.updateVouchersMetadataInBulk({ codes: ["V"], metadata: { v: 3 } })
      const statuses = Effect.forEach(
        [first, second, third],
        ({ async_action_id }) => Effect.map(voucherify.getAsyncAction(async_action_id), (action) => action.status)
      )

      yield* TestClock.adjust("2500 millis")
      expect(yield* statuses).toEqual(["DONE", "IN_PROGRESS", "ENQUEUED"])
      expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ v: 1, a: true }))

      yield* TestClock.adjust("2 seconds")
      expect(yield* statuses).toEqual(["DONE", "DONE", "IN_PROGRESS"])
      expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ v: 2, a: true }))

      yield* TestClock.adjust("2 seconds")
      expect(yield* statuses).toEqual(["DONE", "DONE", "DONE"])
      expect(yield* state.metadata("vouchers", "V")).toEqual(Option.some({ v: 3 }))

      const actions = yield* state.asyncActions
      expect(actions.map((action) => [action.created_at, action.updated_at])).toEqual([
        ["1970-01-01T00:00:00.000Z", "1970-01-01T00:00:02.000Z"],
        ["1970-01-01T00:00:00.000Z", "1970-01-01T00:00:04.000Z"],
        ["1970-01-01T00:00:00.000Z", "1970-01-01T00:00:06.000Z"]
      ])
    }).pipe(withTest({ processingDelay: "2 seconds", records: { vouchers: ["V"] } })))

  it.effect("starts an action at once when the queue is idle", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { v: 1 } })
      yield* TestClock.adjust("1 minute")
      const { async_action_id: id } = yield* voucherify.updateProductsMetadataInBulk({
        source_ids: ["p1"],
        metadata: { v: 2 }
      })
      yield* TestClock.adjust("1 second")
      expect((yield* voucherify.getAsyncAction(id)).status).toBe("DONE")
    }).pipe(withTest()))

  it.effect("answers 404 not_found for an unknown id and refuses a malformed one locally", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const missing = yield* Effect.flip(voucherify.getAsyncAction("aa_0aeb82bd55d5beffb"))
      expect(missing).toMatchObject({
        _tag: "NotFoundError",
        status: 404,
        code: 404,
        key: "not_found",
        resource_id: "aa_0aeb82bd55d5beffb",
        resource_type: "async_action"
      })
      const malformed = yield* Effect.flip(voucherify.getAsyncAction("../products"))
      expect(malformed).toMatchObject({ _tag: "InvalidRequestError", path: "id" })
    }).pipe(withTest()))

  it.effect("lists actions newest first, without results, with limit, end_date and has_more", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const ids: Array<string> = []
      for (let i = 0; i < 12; i++) {
        const { async_action_id } = yield* voucherify.updateProductsMetadataInBulk({
          source_ids: [`p${i}`],
          metadata: { i }
        })
        ids.push(async_action_id)
        yield* TestClock.adjust("1 minute")
      }

      const page = yield* voucherify.listAsyncActions()
      expect(page.object).toBe("list")
      expect(page.data_ref).toBe("async_actions")
      expect(page.has_more).toBe(true)
      expect(page.async_actions.map((action) => action.id)).toEqual(ids.slice(2).reverse())
      expect(page.async_actions[0]).toMatchObject({ status: "DONE", progress: 100 })
      expect(page.async_actions[0]).not.toHaveProperty("result")

      const small = yield* voucherify.listAsyncActions({ limit: 3 })
      expect(small.async_actions.map((action) => action.id)).toEqual(ids.slice(9).reverse())
      expect(small.has_more).toBe(true)

      // actions accepted strictly before minute 2: the first two
      const older = yield* voucherify.listAsyncActions({ limit: 100, end_date: "1970-01-01T00:02:00Z" })
      expect(older.async_actions.map((action) => action.id)).toEqual([ids[1], ids[0]])
      expect(older.has_more).toBe(false)

      expect(yield* Effect.flip(voucherify.listAsyncActions({ limit: 0 }))).toMatchObject({
        _tag: "InvalidRequestError",
        path: "limit"
      })
      expect(yield* Effect.flip(voucherify.listAsyncActions({ end_date: "yesterday" }))).toMatchObject({
        _tag: "BadRequestError",
        status: 400,
        key: "invalid_query_params"
      })
    }).pipe(withTest()))

  it.effect("awaitAsyncAction polls on the TestClock until DONE", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const { async_action_id: id } = yield* voucherify.updateProductsMetadataInBulk({
        source_ids: ["p1"],
        metadata: { a: 1 }
      })
      const fiber = yield* Effect.fork(voucherify.awaitAsyncAction(id))
      const action = yield* joinAdvancing(fiber)
      expect(action).toMatchObject({ id, status: "DONE", result: { done_count: 1 } })
      const calls = yield* state.calls
      const polls = calls.filter((call) => call.method === "getAsyncAction")
      expect(polls.length).toBeGreaterThan(1)
      expect(polls.every((call) => call.asyncActionId === id && call.outcome === "success")).toBe(true)
      expect(calls.at(-1)).toMatchObject({ method: "awaitAsyncAction", asyncActionId: id, outcome: "success" })
    }).pipe(withTest({ processingDelay: "3 seconds" })))

  it.effect("awaitAsyncAction gives up after its timeout while the action goes on", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const { async_action_id: id } = yield* voucherify.updateProductsMetadataInBulk({
        source_ids: ["p1"],
        metadata: { a: 1 }
      })
      const fiber = yield* Effect.fork(Effect.flip(voucherify.awaitAsyncAction(id, { timeout: "1 minute" })))
      expect(yield* joinAdvancing(fiber)).toMatchObject({ _tag: "AsyncActionTimeoutError", id, lastStatus: "IN_PROGRESS" })
      yield* TestClock.adjust("1 hour")
      expect((yield* voucherify.getAsyncAction(id)).status).toBe("DONE")
    }).pipe(withTest({ processingDelay: "1 hour" })))

  it.effect("an ActionFailed fault ends the action FAILED without touching the records", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ActionFailed" }, method: "POST", first: 1 }] })
      const failed = yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1", "p2"], metadata: { a: 1 } })
      const next = yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p3"], metadata: { a: 2 } })
      const fiber = yield* Effect.fork(Effect.flip(voucherify.awaitAsyncAction(failed.async_action_id)))
      const error = yield* joinAdvancing(fiber)
      // and time for the next action, queued behind it, to run
      yield* TestClock.adjust("10 seconds")
      expect(error._tag).toBe("AsyncActionFailedError")
      expect(error).toMatchObject({
        action: { status: "FAILED", operation_status: "FAILED", result: { done_count: 0, failed_count: 2 } }
      })
      expect(yield* state.metadata("products", "p1")).toEqual(Option.none())
      expect((yield* voucherify.getAsyncAction(next.async_action_id)).status).toBe("DONE")
      expect(yield* state.metadata("products", "p3")).toEqual(Option.some({ a: 2 }))
    }).pipe(withTest()))
})

describe("VoucherifyTest faults", () => {
  const productsPath = "/v1/products/metadata/async"

  it.effect("a rule with a path and first: N fails the next N calls that request it, and changes nothing", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "RateLimited" }, path: productsPath, first: 2 }] })
      const request = { source_ids: ["p1"], metadata: { a: 1 } }

      // a call refused locally makes no request: it does not use a fault up
      yield* Effect.flip(voucherify.updateProductsMetadataInBulk({ source_ids: [], metadata: {} }))
      // other paths are not affected
      yield* voucherify.updateCustomersMetadataInBulk({ source_ids: ["c1"], metadata: { a: 1 } })
      expect(yield* Effect.flip(voucherify.updateProductsMetadataInBulk(request))).toMatchObject(rateLimitedShape)
      expect(yield* Effect.flip(voucherify.updateProductsMetadataInBulk(request))).toMatchObject(rateLimitedShape)
      const accepted = yield* voucherify.updateProductsMetadataInBulk(request)

      const actions = yield* state.asyncActions
      expect(actions.map((action) => action.id)).toEqual([expect.any(String), accepted.async_action_id])
      expect((yield* state.calls).map((call) => [call.method, call.outcome, call.error?._tag])).toEqual([
        ["updateProductsMetadataInBulk", "failure", "InvalidRequestError"],
        ["updateCustomersMetadataInBulk", "success", undefined],
        ["updateProductsMetadataInBulk", "failure", "RateLimitError"],
        ["updateProductsMetadataInBulk", "failure", "RateLimitError"],
        ["updateProductsMetadataInBulk", "success", undefined]
      ])
    }).pipe(withTest()))

  it.effect("a rule without a path fails whatever call comes next", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      yield* voucherify.updateVouchersMetadataInBulk({ codes: ["V"], metadata: {} })
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ServerError" }, first: 1 }] })
      expect(yield* Effect.flip(voucherify.listAsyncActions())).toMatchObject(serverErrorShape)
      expect((yield* voucherify.listAsyncActions()).async_actions).toHaveLength(1)
    }).pipe(withTest({ records: { vouchers: ["V"] } })))

  it.effect("a failing poll fails awaitAsyncAction, as with the real service", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const { async_action_id: id } = yield* voucherify.updateVouchersMetadataInBulk({ codes: ["V"], metadata: {} })
      yield* state.setFaults({ rules: [{ fault: { _tag: "ServerError" }, path: `/v1/async-actions/${id}`, first: 1 }] })
      const fiber = yield* Effect.fork(Effect.flip(voucherify.awaitAsyncAction(id)))
      expect(yield* joinAdvancing(fiber)).toMatchObject(serverErrorShape)
      expect((yield* state.calls).slice(-2).map((call) => [call.method, call.outcome])).toEqual([
        ["getAsyncAction", "failure"],
        ["awaitAsyncAction", "failure"]
      ])
    }).pipe(withTest({ records: { vouchers: ["V"] } })))

  it.effect("each fault reaches the program as the error its answer maps to; the late ones keep the work", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const update = voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} })
      const cases: ReadonlyArray<readonly [MockVoucherifyServer.Fault, object, number]> = [
        [{ _tag: "ResetBeforeBody" }, { _tag: "TransportError", reason: "Transport" }, 0],
        [{ _tag: "ResetAfterProcessing" }, { _tag: "TransportError", reason: "Transport" }, 1],
        [{ _tag: "MalformedJson" }, { _tag: "ResponseDecodeError", status: 202 }, 1],
        [{ _tag: "Redirect" }, { _tag: "TransportError", reason: "Redirect", status: 307 }, 0],
        [{ _tag: "ServerError", status: 502 }, { _tag: "ServerError", status: 502 }, 0]
      ]
      for (const [fault, expected, created] of cases) {
        yield* state.setFaults({ rules: [{ fault, first: 1 }] })
        const before = (yield* state.asyncActions).length
        expect(yield* Effect.flip(update), fault._tag).toMatchObject(expected)
        expect((yield* state.asyncActions).length - before, fault._tag).toBe(created)
      }
      // a delay runs on the Clock: past the client's timeout (60 s), the call gives up
      yield* state.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "2 minutes" }, first: 1 }] })
      const fiber = yield* Effect.fork(Effect.flip(update))
      expect(yield* joinAdvancing(fiber)).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      expect(yield* state.asyncActions).toHaveLength(3)
    }).pipe(withTest()))

  it.effect("setFaults(undefined) clears the rules", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ServerError" } }] })
      yield* state.setFaults(undefined)
      expect((yield* voucherify.listAsyncActions()).async_actions).toEqual([])
    }).pipe(withTest()))

  /** The outcomes of `calls` product updates under a 30% fault rate. */
  const randomOutcomes = (seed: number, calls: number) =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const outcomes: Array<boolean> = []
      for (let i = 0; i < calls; i++) {
        const exit = yield* Effect.exit(
          voucherify.updateProductsMetadataInBulk({ source_ids: [`p${i}`], metadata: { i } })
        )
        outcomes.push(exit._tag === "Success")
      }
      const accepted = (yield* state.asyncActions).length
      return { outcomes, accepted }
    }).pipe(withTest({ faults: { seed, rules: [{ fault: { _tag: "RateLimited" }, path: productsPath, rate: 0.3 }] } }))

  it.effect("a rate is reproducible from the seed", () =>
    Effect.gen(function*() {
      const first = yield* randomOutcomes(42, 50)
      const again = yield* randomOutcomes(42, 50)
      const other = yield* randomOutcomes(7, 50)
      expect(again).toEqual(first)
      expect(other.outcomes).not.toEqual(first.outcomes)
      const failures = first.outcomes.filter((ok) => !ok).length
      expect(failures).toBeGreaterThan(5)
      expect(failures).toBeLessThan(30)
      // a failed call creates no action
      expect(first.accepted).toBe(50 - failures)
    }))

  it.effect("rules that do not hold up fail with InvalidRequestError naming the field, and change nothing", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ServerError" }, path: "/v1/async-actions" }] })
      for (const first of [-1, 1.5, NaN, Infinity]) {
        expect(yield* Effect.flip(state.setFaults({ rules: [{ fault: { _tag: "ServerError" }, first }] })))
          .toMatchObject({ _tag: "InvalidRequestError", path: "faults.rules[0].first" })
      }
      for (const rate of [-0.1, 1.5, NaN]) {
        expect(yield* Effect.flip(state.setFaults({ rules: [{ fault: { _tag: "ServerError" }, rate }] })))
          .toMatchObject({ _tag: "InvalidRequestError", path: "faults.rules[0].rate" })
      }
      expect(yield* Effect.flip(voucherify.listAsyncActions())).toMatchObject({ _tag: "ServerError", status: 503 })
      const { async_action_id: id } = yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} })
      yield* TestClock.adjust("1 minute")
      expect((yield* voucherify.getAsyncAction(id)).status).toBe("DONE")
    }).pipe(withTest()))

  it.effect("a rate of 1 fails every call of the path only", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ServerError" }, path: "/v1/async-actions", rate: 1 }] })
      for (let i = 0; i < 5; i++) {
        expect(yield* Effect.flip(voucherify.listAsyncActions())).toMatchObject(serverErrorShape)
      }
      yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} })
    }).pipe(withTest()))
})

describe("VoucherifyTest rate limits", () => {
  it.effect("a bulk run waits out the quota windows on the TestClock", () =>
    Effect.gen(function*() {
      const state = yield* VoucherifyTest.VoucherifyTestState
      const ids = Array.from({ length: 100 }, (_, i) => `p${String(i).padStart(4, "0")}`)
      const fiber = yield* Effect.fork(BulkMetadata.run(ids, { target: "products", metadata: { q: 1 }, concurrency: 1 }))
      const sentBy = (millis: number) =>
        Effect.map(state.calls, (calls) =>
          calls.filter((call) => call.method === "sendEncodedBulkRequest" && call.outcome === "success" && call.at <= millis)
            .length)
      // until the first window's two calls went, whatever the scheduler did first; then a minute on
      yield* sentBy(0).pipe(Effect.zipLeft(Effect.yieldNow()), Effect.repeat({ until: (n) => n >= 2 }))
      yield* TestClock.adjust("1 minute")
      // two calls a window: the third waits for the next one
      expect(yield* sentBy(59_999)).toBe(2)
      yield* TestClock.adjust("2 minutes")
      const report = yield* Fiber.join(fiber)
      expect(report.accepted.items).toBe(100)
      const sent = (yield* state.calls).filter((call) => call.method === "sendEncodedBulkRequest")
      expect(sent.map((call) => [call.at, call.outcome])).toEqual([
        [0, "success"],
        [0, "success"],
        [60_000, "success"],
        [60_000, "success"],
        [120_000, "success"]
      ])
      expect((yield* state.records("products")).size).toBe(100)
    }).pipe(withTest({ maxPayloadBytes: 200, processingDelay: 0, rateLimits: { bulkQuota: { calls: 2, window: "1 minute" } } })))

  it.effect("a 429 bulk_api_calls fault pauses the run until its Retry-After, then the chunk goes again", () =>
    Effect.gen(function*() {
      const state = yield* VoucherifyTest.VoucherifyTestState
      const fiber = yield* Effect.fork(BulkMetadata.run(["p1", "p2"], { target: "products", metadata: { q: 1 } }))
      // until the refusal came back, whatever the scheduler did first; then nine minutes into its wait
      yield* state.calls.pipe(Effect.zipLeft(Effect.yieldNow()), Effect.repeat({ until: (calls) => calls.length >= 1 }))
      yield* TestClock.adjust("9 minutes")
      expect((yield* state.calls).map((call) => [call.method, call.at, call.outcome])).toEqual([
        ["sendEncodedBulkRequest", 0, "failure"]
      ])
      yield* TestClock.adjust("1 minute")
      const report = yield* Fiber.join(fiber)
      expect(report.accepted.items).toBe(2)
      expect((yield* state.calls).map((call) => [call.method, call.at, call.outcome])).toEqual([
        ["sendEncodedBulkRequest", 0, "failure"],
        ["sendEncodedBulkRequest", 600_000, "success"]
      ])
    }).pipe(withTest({
      faults: {
        rules: [{ fault: { _tag: "RateLimited", limitType: "bulk_api_calls", retryAfter: "10 minutes" }, first: 1 }]
      }
    })))
})

describe("VoucherifyTest options", () => {
  it.effect("options that do not hold up fail the layer with InvalidRequestError naming the option", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [VoucherifyTest.Options, string]> = [
        [{ maxPayloadBytes: NaN }, "maxPayloadBytes"],
        [{ maxPayloadBytes: 0 }, "maxPayloadBytes"],
        [{ maxPayloadBytes: 2.5 }, "maxPayloadBytes"],
        [{ processingDelay: -5 }, "processingDelay"],
        [{ processingDelay: "-1 second" }, "processingDelay"],
        [{ processingDelay: NaN }, "processingDelay"],
        [{ processingDelay: "soon" as any }, "processingDelay"],
        [{ faults: { rules: [{ fault: { _tag: "ServerError" }, rate: 2 }] } }, "faults.rules[0].rate"],
        [{ rateLimits: { bulkCallsPerHour: -1 } }, "rateLimits.bulkCallsPerHour"]
      ]
      for (const [options, path] of cases) {
        const error = yield* Effect.flip(Effect.provide(Voucherify, VoucherifyTest.layer(options)))
        expect(error, JSON.stringify(options)).toMatchObject({ _tag: "InvalidRequestError", path })
        expect(error.message).toContain(path)
      }
    }))
})

layer(VoucherifyTest.layer({ records: { products: ["p1"] } }))("VoucherifyTest as a shared layer", (it) => {
  it.effect("serves Voucherify and VoucherifyTestState from one store", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { first: true } })
      yield* TestClock.adjust("1 second")
      expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ first: true }))
      expect((yield* state.calls).map((call) => call.method)).toEqual(["updateProductsMetadataInBulk"])
    }))
})

describe("VoucherifyTest built once", () => {
  it.scoped("keeps its store across the programs it serves, as across the tests of an it.layer block", () =>
    Effect.gen(function*() {
      const built = yield* Layer.build(VoucherifyTest.layer({ records: { products: ["p1"] } }))
      yield* Effect.gen(function*() {
        const voucherify = yield* Voucherify
        yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { first: true } })
        yield* TestClock.adjust("1 second")
      }).pipe(Effect.provide(built))
      yield* Effect.gen(function*() {
        const state = yield* VoucherifyTest.VoucherifyTestState
        expect(yield* state.metadata("products", "p1")).toEqual(Option.some({ first: true }))
        expect((yield* state.calls).map((call) => call.method)).toEqual(["updateProductsMetadataInBulk"])
      }).pipe(Effect.provide(built))
    }))
})
