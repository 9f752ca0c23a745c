/**
 * The mock server on the wire: every endpoint, status and fault, driven both
 * by the library's own client and by a plain `fetch`, on real loopback
 * sockets (hence `it.live`).
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, inject, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as Voucherify from "../src/Voucherify.js"
import * as VoucherifyConfig from "../src/VoucherifyConfig.js"
import * as VoucherifyHttpClient from "../src/VoucherifyHttpClient.js"

const { MockVoucherifyServer: Server } = MockVoucherifyServer

/** The library's client pointed at the server; no retries unless a test asks. */
const serverWithClient = (options: MockVoucherifyServer.Options = {}, client?: MockVoucherifyServer.ClientOptions) =>
  MockVoucherifyServer.layerTest({ ...options, client: { retry: { maxRetries: 0 }, ...client } })

const fastRetries = { maxRetries: 3, baseDelay: "5 millis", maxDelay: "20 millis" } as const

interface Sent {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

/** A plain `fetch` to the server, with the app keys unless `auth` says otherwise. */
const send = (
  path: string,
  init: RequestInit & { readonly auth?: "keys" | "none" } = {}
) =>
  Effect.gen(function*() {
    const server = yield* Server
    const headers = new Headers(init.headers)
    if (init.auth !== "none") {
      headers.set("x-app-id", server.appId)
      headers.set("x-app-token", Redacted.value(server.appToken))
    }
    return yield* Effect.tryPromise(async (): Promise<Sent> => {
      const response = await fetch(`${server.baseUrl}${path}`, { ...init, headers })
      return { status: response.status, headers: response.headers, text: await response.text() }
    }).pipe(Effect.mapError((error) => error.cause))
  })

const json = (sent: Sent): any => JSON.parse(sent.text)

const postJson = (path: string, body: unknown, init: RequestInit & { readonly auth?: "keys" | "none" } = {}) =>
  send(path, {
    ...init,
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...init.headers as Record<string, string> }
  })

const voucherify = Voucherify.Voucherify

/** Repeats `effect` every few milliseconds until `done` holds for its value. */
const pollUntil = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean): Effect.Effect<A, E, R> =>
  Effect.flatMap(effect, (a) => done(a) ? Effect.succeed(a) : Effect.zipRight(Effect.sleep("10 millis"), pollUntil(effect, done)))

/** Polls with `fetch` until the action is DONE. */
const awaitDone = (id: string) =>
  pollUntil(Effect.map(send(`/v1/async-actions/${id}`), json), (action) => action.status === "DONE")

const asyncActionId = /^aa_[0-9a-f]{18}$/

const fastPoll = { schedule: Schedule.spaced("20 millis") }

/**
 * The TestClock, for the server built inside the test to run on. Provided
 * by hand: in a file that also uses `layer(..., { excludeTestServices: true })`,
 * a plain `it.effect` was seen to run on the live clock.
 */
const withTestClock = Effect.provide(TestContext.TestContext)

layer(serverWithClient({
  records: {
    products: { p0: { keep: true, color: "red" } },
    vouchers: ["V1", "V2"]
  }
}), { excludeTestServices: true })("bulk endpoints and the store", (it) => {
  it.effect("products: 202, upsert, merge into existing metadata (library client)", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      const accepted = yield* v.updateProductsMetadataInBulk({
        source_ids: ["p0", "p1", "p2"],
        metadata: { color: "blue", origin: "PL" }
      })
      expect(accepted.async_action_id).toMatch(asyncActionId)
      const action = yield* v.awaitAsyncAction(accepted.async_action_id, fastPoll)
      expect(action).toMatchObject({
        id: accepted.async_action_id,
        type: "PRODUCTS.METADATA_UPDATE",
        status: "DONE",
        progress: 100,
        object: "async_action",
        result: { done_count: 3, failed_count: 0, errors: [] }
      })
      expect(yield* server.getMetadata("products", "p0")).toEqual(
        Option.some({ keep: true, color: "blue", origin: "PL" })
      )
      const p1 = yield* server.getMetadata("products", "p1")
      const p2 = yield* server.getMetadata("products", "p2")
      // records updated by one request share one metadata object
      expect(Option.getOrThrow(p1)).toBe(Option.getOrThrow(p2))
      expect(yield* server.checkMetadata("products", ["p0", "p1", "p2"], { origin: "PL" })).toEqual({
        checked: 3,
        missing: 0,
        mismatched: 0,
        examples: []
      })
      expect(yield* server.checkMetadata("products", ["p0", "p9"], { keep: true })).toEqual({
        checked: 2,
        missing: 1,
        mismatched: 0,
        examples: ["p9"]
      })
    }))

  it.effect("products: GET /v1/products/{id} returns the record, 404 in the documented shape (fetch)", () =>
    Effect.gen(function*() {
      const accepted = yield* postJson("/v1/products/metadata/async", { source_ids: ["a b/c"], metadata: { n: 1 } })
      expect(accepted.status).toBe(202)
      expect(accepted.headers.get("content-type")).toContain("application/json")
      yield* awaitDone(json(accepted).async_action_id)
      const found = yield* send(`/v1/products/${encodeURIComponent("a b/c")}`)
      expect(found.status).toBe(200)
      expect(json(found)).toMatchObject({ source_id: "a b/c", object: "product", metadata: { n: 1 } })
      const missing = yield* send("/v1/products/nope")
      expect(missing.status).toBe(404)
      expect(json(missing)).toMatchObject({
        code: 404,
        key: "not_found",
        resource_id: "nope",
        resource_type: "product",
        request_id: expect.any(String),
        details: expect.any(String),
        message: expect.any(String)
      })
    }))

  it.effect("customers: upsert, both clients", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      const { async_action_id } = yield* v.updateCustomersMetadataInBulk({ source_ids: ["c1"], metadata: { vip: true } })
      const action = yield* v.awaitAsyncAction(async_action_id, fastPoll)
      expect(action.type).toBe("CUSTOMERS.METADATA_UPDATE")
      const sent = yield* postJson("/v1/customers/metadata/async", { source_ids: ["c1", "c2"], metadata: { tier: 2 } })
      expect(sent.status).toBe(202)
      expect(yield* awaitDone(json(sent).async_action_id)).toMatchObject({ result: { done_count: 2, failed_count: 0 } })
      expect(json(yield* send("/v1/customers/c1"))).toMatchObject({
        object: "customer",
        source_id: "c1",
        metadata: { vip: true, tier: 2 }
      })
      expect((yield* send("/v1/customers/c3")).status).toBe(404)
      expect(yield* server.count("customers")).toBe(2)
    }))

  it.effect("vouchers: unknown codes are not created but reported (both clients)", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      const { async_action_id } = yield* v.updateVouchersMetadataInBulk({ codes: ["V1", "NOPE"], metadata: { a: 1 } })
      const action = yield* v.awaitAsyncAction(async_action_id, fastPoll)
      expect(action.type).toBe("VOUCHERS.METADATA_UPDATE")
      expect(action.result).toMatchObject({
        done_count: 1,
        failed_count: 1,
        errors: [{ key: "not_found", code: "NOPE" }]
      })
      const sent = yield* postJson("/v1/vouchers/metadata/async", { codes: ["V2", "X", "Y"], metadata: { b: 2 } })
      expect(yield* awaitDone(json(sent).async_action_id)).toMatchObject({
        result: { done_count: 1, failed_count: 2 }
      })
      expect(yield* server.count("vouchers")).toBe(2)
      expect(json(yield* send("/v1/vouchers/V1"))).toMatchObject({ code: "V1", metadata: { a: 1 } })
      expect(yield* server.getMetadata("vouchers", "NOPE")).toEqual(Option.none())
    }))

  it.effect("a repeated id counts once, an unknown code too (library client)", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const products = yield* v.updateProductsMetadataInBulk({ source_ids: ["r1", "r1", "r2", "r1"], metadata: { r: 1 } })
      expect((yield* v.awaitAsyncAction(products.async_action_id, fastPoll)).result).toMatchObject({
        done_count: 2,
        failed_count: 0,
        errors: []
      })
      const vouchers = yield* v.updateVouchersMetadataInBulk({ codes: ["V1", "V1", "GONE", "GONE"], metadata: { r: 2 } })
      expect((yield* v.awaitAsyncAction(vouchers.async_action_id, fastPoll)).result).toMatchObject({
        done_count: 1,
        failed_count: 1,
        errors: [{ code: "GONE" }]
      })
    }))

  it.effect("a large body: 200,000 ids in one request, all stored", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      const ids = Array.from({ length: 200_000 }, (_, i) => `bulk-${i}`)
      const { async_action_id } = yield* v.updateProductsMetadataInBulk({ source_ids: ids, metadata: { batch: 7 } })
      const action = yield* v.awaitAsyncAction(async_action_id, fastPoll)
      expect(action.result?.done_count).toBe(200_000)
      function* generated() {
        for (let i = 0; i < 200_000; i++) yield `bulk-${i}`
      }
      expect(yield* server.checkMetadata("products", generated(), { batch: 7 })).toMatchObject({
        checked: 200_000,
        missing: 0,
        mismatched: 0
      })
      expect((yield* server.checkMetadata("products", ["bulk-1"], { batch: 8 })).mismatched).toBe(1)
    }))
})

describe("async actions on the TestClock", () => {
  // The server's Clock is the TestClock: each state shows exactly when the clock says, however slow the machine is.
  it.effect("run one at a time in order: ENQUEUED, IN_PROGRESS, DONE; a state read finds the work done", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      const first = yield* v.updateProductsMetadataInBulk({ source_ids: ["a"], metadata: { step: 1 } })
      const second = yield* v.updateProductsMetadataInBulk({ source_ids: ["a"], metadata: { step: 2 } })
      const get = (accepted: { readonly async_action_id: string }) => v.getAsyncAction(accepted.async_action_id)
      const statuses = Effect.all([get(first), get(second)]).pipe(
        Effect.map((actions) => actions.map((action) => action.status))
      )
      expect(yield* statuses).toEqual(["ENQUEUED", "ENQUEUED"])
      expect((yield* get(first)).result).toBeUndefined()

      yield* TestClock.adjust("30 seconds")
      expect(yield* get(first)).toMatchObject({ status: "IN_PROGRESS", progress: 50 })
      // the second waits behind the first
      expect((yield* get(second)).status).toBe("ENQUEUED")
      expect(yield* server.getMetadata("products", "a")).toEqual(Option.none())

      // nobody polls: the server's own state read settles the first action
      yield* TestClock.adjust("60 seconds")
      expect(yield* server.getMetadata("products", "a")).toEqual(Option.some({ step: 1 }))
      expect(yield* statuses).toEqual(["DONE", "IN_PROGRESS"])

      yield* TestClock.adjust("30 seconds")
      const done = yield* Effect.all([get(first), get(second)])
      expect(done.map((action) => [action.status, action.updated_at, action.processing_time])).toEqual([
        ["DONE", "1970-01-01T00:01:00.000Z", 60_000],
        ["DONE", "1970-01-01T00:02:00.000Z", 60_000]
      ])
      // the later request won: they ran in order of acceptance
      expect(yield* server.getMetadata("products", "a")).toEqual(Option.some({ step: 2 }))
      expect((yield* server.asyncActions).map((action) => action.result?.done_count)).toEqual([1, 1])
    }).pipe(Effect.provide(serverWithClient({ processingDelay: "1 minute" })), withTestClock))
})

layer(serverWithClient({ processingDelay: "150 millis" }), { excludeTestServices: true })("async actions", (it) => {
  it.effect("GET /v1/async-actions: newest first, limit, has_more, end_date, no result (both clients)", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      for (const step of [1, 2]) yield* v.updateProductsMetadataInBulk({ source_ids: ["listed"], metadata: { step } })
      const all = yield* server.asyncActions
      expect(all.length).toBeGreaterThanOrEqual(2)
      const listed = yield* v.listAsyncActions({ limit: 1 })
      expect(listed.has_more).toBe(true)
      expect(listed.async_actions.map((a) => a.id)).toEqual([all[all.length - 1]!.id])
      const raw = json(yield* send("/v1/async-actions?limit=100"))
      expect(raw).toMatchObject({ object: "list", data_ref: "async_actions", has_more: false })
      expect(raw.async_actions).toHaveLength(all.length)
      for (const entry of raw.async_actions) expect(entry).not.toHaveProperty("result")
      const before = json(yield* send(`/v1/async-actions?end_date=${encodeURIComponent("2000-01-01T00:00:00Z")}`))
      expect(before.async_actions).toEqual([])
      for (const query of ["limit=0", "limit=101", "limit=x", "end_date=yesterday"]) {
        const refused = yield* send(`/v1/async-actions?${query}`)
        expect(refused.status).toBe(400)
        expect(json(refused)).toMatchObject({ code: 400, key: "invalid_query_params" })
        // the same rule as the client's own check of limit
        if (query.startsWith("limit")) expect(json(refused).details).toContain("from 1 to 100")
      }
    }))

  it.effect("an unknown async action is a 404 of resource_type async_action (both clients)", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const error = yield* Effect.flip(v.getAsyncAction("aa_000000000000000000"))
      expect(error).toMatchObject({ _tag: "NotFoundError", status: 404, key: "not_found", resource_type: "async_action" })
      const sent = yield* send("/v1/async-actions/aa_1")
      expect(sent.status).toBe(404)
      expect(json(sent)).toMatchObject({ code: 404, key: "not_found", resource_type: "async_action" })
    }))
})

layer(serverWithClient(), { excludeTestServices: true })("authentication, validation, routing, request log", (it) => {
  it.effect("wrong or missing app keys: 401 with the documented body (both clients)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const unauthorized = { code: 401, message: "Unauthorized", key: "unauthorized" }
      const missing = yield* postJson("/v1/products/metadata/async", { source_ids: ["x"], metadata: {} }, { auth: "none" })
      expect(missing.status).toBe(401)
      expect(json(missing)).toEqual(unauthorized)
      const wrong = yield* send("/v1/async-actions", {
        auth: "none",
        headers: { "x-app-id": server.appId, "x-app-token": "wrong" }
      })
      expect(wrong.status).toBe(401)
      expect(json(wrong)).toEqual(unauthorized)
      const bearer = yield* send("/v1/async-actions", { auth: "none", headers: { authorization: "Bearer forged" } })
      expect(bearer.status).toBe(401)
      const error = yield* Voucherify.Voucherify.pipe(
        Effect.flatMap((v) => v.listAsyncActions()),
        Effect.provide(
          Voucherify.layer({ baseUrl: server.baseUrl, appId: server.appId, appToken: Redacted.make("nope") })
            .pipe(Layer.provide(NodeHttpClient.layerUndici))
        ),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "UnauthorizedError", status: 401, key: "unauthorized" })
      expect(yield* server.count("products")).toBe(0)
    }))

  it.effect("malformed JSON and schema-breaking bodies: 400 invalid_payload with details (both clients)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["{\"source_ids\": [", "not valid JSON"],
        ["[1, 2]", "must be a JSON object"],
        ["{\"metadata\": {}}", "source_ids"],
        ["{\"source_ids\": [\"a\", 7], \"metadata\": {}}", "item 1 must be a string"],
        ["{\"source_ids\": [\"a\"], \"metadata\": [1]}", "metadata"],
        ["{\"source_ids\": [\"a\"], \"metadata\": null}", "metadata"]
      ]
      for (const [body, detail] of cases) {
        const sent = yield* send("/v1/products/metadata/async", { method: "POST", body })
        expect(sent.status).toBe(400)
        const error = json(sent)
        expect(error).toMatchObject({ code: 400, key: "invalid_payload", request_id: expect.any(String) })
        expect(error.details).toContain(detail)
      }
      const codes = yield* postJson("/v1/vouchers/metadata/async", { source_ids: ["V1"], metadata: {} })
      expect(json(codes).details).toContain("codes")
      // the library validates locally; a pre-encoded body reaches the server as is
      const v = yield* voucherify
      const error = yield* Effect.flip(v.sendEncodedBulkRequest({
        target: "customers",
        body: new TextEncoder().encode("{\"source_ids\":\"c1\",\"metadata\":{}}"),
        ids: 1
      }))
      expect(error).toMatchObject({ _tag: "BadRequestError", status: 400, key: "invalid_payload" })
      expect(yield* server.asyncActions).toEqual([])
    }))

  it.effect("anything else: 404 in the documented shape (both clients)", () =>
    Effect.gen(function*() {
      for (const [method, path] of [["GET", "/v1/campaigns"], ["DELETE", "/v1/products/metadata/async"], ["GET", "/"]]) {
        const sent = yield* send(path!, { method: method! })
        expect(sent.status).toBe(404)
        expect(json(sent)).toMatchObject({ code: 404, key: "not_found", message: expect.any(String), request_id: expect.any(String) })
      }
      const error = yield* VoucherifyHttpClient.VoucherifyHttpClient.pipe(
        Effect.flatMap(({ client }) => Effect.flip(client.get("/v1/unknown"))),
        Effect.provide(VoucherifyHttpClient.layer.pipe(Layer.provide(NodeHttpClient.layerUndici)))
      )
      expect(error).toMatchObject({ _tag: "NotFoundError", status: 404, key: "not_found" })
    }))

  it.effect("the request log: method, url, masked secrets, body size, status and outcome", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* server.reset
      const body = JSON.stringify({ source_ids: ["r1"], metadata: { z: 1 } })
      yield* send("/v1/products/metadata/async", { method: "POST", body })
      yield* send("/v1/async-actions", { auth: "none", headers: { authorization: "Bearer secret-value" } })
      const [accepted, refused] = yield* server.requests
      expect(accepted).toMatchObject({
        seq: 1,
        method: "POST",
        url: "/v1/products/metadata/async",
        bodyBytes: body.length,
        status: 202,
        outcome: "accepted",
        fault: undefined,
        asyncActionId: expect.stringMatching(asyncActionId)
      })
      expect(accepted!.headers["x-app-token"]).toBe("<redacted>")
      expect(accepted!.headers["x-app-id"]).toBe(server.appId)
      expect(refused).toMatchObject({ seq: 2, status: 401, outcome: "unauthorized", bodyBytes: 0 })
      expect(refused!.headers["authorization"]).toBe("Bearer <redacted>")
      expect(JSON.stringify(yield* server.requests)).not.toContain("secret-value")
      expect(JSON.stringify(yield* server.requests)).not.toContain(Redacted.value(server.appToken))
    }))

  it.effect("reset: back to the seeded store, no actions, an empty log", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const v = yield* voucherify
      const before = yield* v.updateProductsMetadataInBulk({ source_ids: ["gone"], metadata: {} }).pipe(
        Effect.flatMap(({ async_action_id }) => v.awaitAsyncAction(async_action_id, fastPoll))
      )
      yield* server.reset
      expect(yield* server.count("products")).toBe(0)
      expect(yield* server.asyncActions).toEqual([])
      expect(yield* server.requests).toEqual([])
      // an id is never given twice: one a client still holds cannot name another action
      const after = yield* v.updateProductsMetadataInBulk({ source_ids: ["new"], metadata: {} })
      expect(after.async_action_id).not.toBe(before.id)
      expect(yield* Effect.flip(v.getAsyncAction(before.id))).toMatchObject({ _tag: "NotFoundError" })
    }))
})

describe("options", () => {
  /** The layer's failure, which must be an InvalidRequestError. */
  const refused = (options: MockVoucherifyServer.Options) =>
    Effect.flip(Effect.scoped(Layer.build(MockVoucherifyServer.layer(options))))

  it.live("options that do not hold up fail the layer with InvalidRequestError naming the option", () =>
    Effect.gen(function*() {
      const rule = (extra: object) => ({ faults: { rules: [{ fault: { _tag: "ServerError" }, ...extra }] } } as any)
      const cases: ReadonlyArray<readonly [MockVoucherifyServer.Options, string]> = [
        [{ maxPayloadBytes: NaN }, "maxPayloadBytes"],
        [{ maxPayloadBytes: 0 }, "maxPayloadBytes"],
        [{ maxPayloadBytes: 1.5 }, "maxPayloadBytes"],
        [{ processingDelay: -5 }, "processingDelay"],
        [{ processingDelay: "-5 millis" }, "processingDelay"],
        [{ processingDelay: NaN }, "processingDelay"],
        [{ processingDelay: "x" as any }, "processingDelay"],
        [{ tokenTtl: "soon" as any }, "tokenTtl"],
        [{ maxRecordedRequests: -1 }, "maxRecordedRequests"],
        [{ maxResultErrors: 0.5 }, "maxResultErrors"],
        [{ port: -1 }, "port"],
        [{ rateLimits: { bulkCallsPerHour: NaN } }, "rateLimits.bulkCallsPerHour"],
        [rule({ rate: 1.5 }), "faults.rules[0].rate"],
        [rule({ rate: -0.1 }), "faults.rules[0].rate"],
        [rule({ rate: NaN }), "faults.rules[0].rate"],
        [rule({ first: -1 }), "faults.rules[0].first"],
        [rule({ first: 1.5 }), "faults.rules[0].first"],
        [{ faults: { seed: NaN, rules: [] } }, "faults.seed"],
        [{ faults: { rules: [{ fault: { _tag: "Delay", duration: -1 } }] } }, "faults.rules[0].fault.duration"],
        [{ faults: { rules: [{ fault: { _tag: "Nope" } as any }] } }, "faults.rules[0].fault._tag"]
      ]
      for (const [options, path] of cases) {
        const error = yield* refused(options)
        expect(error._tag, path).toBe("InvalidRequestError")
        expect(error._tag === "InvalidRequestError" && error.path, JSON.stringify(options)).toBe(path)
        expect(error.message).toContain(path)
      }
    }))

  it.live("setFaults refuses rules that do not hold up and keeps the ones it had", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* server.setFaults({ rules: [{ fault: { _tag: "ServerError", status: 500 }, path: "/v1/async-actions" }] })
      for (
        const [rule, path] of [
          [{ rate: 2 }, "faults.rules[0].rate"],
          [{ rate: NaN }, "faults.rules[0].rate"],
          [{ first: -3 }, "faults.rules[0].first"]
        ] as const
      ) {
        const error = yield* Effect.flip(server.setFaults({ rules: [{ fault: { _tag: "ResetBeforeBody" }, ...rule }] }))
        expect(error).toMatchObject({ _tag: "InvalidRequestError", path })
      }
      expect((yield* send("/v1/async-actions")).status).toBe(500)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())))
})

describe("OAuth", () => {
  it.live("POST /v1/oauth/token, then Bearer on the other endpoints; scopes are enforced (fetch)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const token = (scope: string, init: RequestInit & { readonly auth?: "keys" | "none" } = {}) =>
        send("/v1/oauth/token", {
          ...init,
          method: "POST",
          body: new URLSearchParams({ grant_type: "client_credentials", scope })
        })
      const before = Math.floor(Date.now() / 1000)
      const issued = yield* token("products async-actions")
      expect(issued.status).toBe(200)
      const body = json(issued)
      expect(body).toMatchObject({
        access_token: expect.any(String),
        client_id: server.appId,
        expires_in: 900,
        scope: "products async-actions",
        token_type: "Bearer"
      })
      expect(body.expires_at).toBeGreaterThanOrEqual(before + 900)
      const bearer = { authorization: `Bearer ${body.access_token}` }
      const accepted = yield* postJson("/v1/products/metadata/async", { source_ids: ["o1"], metadata: {} }, {
        auth: "none",
        headers: bearer
      })
      expect(accepted.status).toBe(202)
      expect((yield* send(`/v1/async-actions/${json(accepted).async_action_id}`, { auth: "none", headers: bearer })).status)
        .toBe(200)
      const forbidden = yield* postJson("/v1/customers/metadata/async", { source_ids: ["o1"], metadata: {} }, {
        auth: "none",
        headers: bearer
      })
      expect(forbidden.status).toBe(403)
      expect(json(forbidden)).toMatchObject({ code: 403, key: "forbidden" })
      const api = json(yield* token("api")).access_token
      expect((yield* send("/v1/customers/o1", { auth: "none", headers: { authorization: `Bearer ${api}` } })).status)
        .toBe(404)

      const unknownScope = yield* token("products everything")
      expect(unknownScope.status).toBe(400)
      expect(json(unknownScope)).toMatchObject({ code: 400, key: "invalid_scope" })
      const noGrant = yield* send("/v1/oauth/token", { method: "POST", body: "scope=api" })
      expect(json(noGrant)).toMatchObject({ code: 400, key: "invalid_grant_type" })
      // the token endpoint itself wants the app keys
      expect((yield* token("api", { auth: "none", headers: bearer })).status).toBe(401)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())))

  // The server's Clock is the TestClock: the token lives exactly its TTL, however slow the machine is.
  it.effect("a token stops working when it expires", () =>
    Effect.gen(function*() {
      const issued = yield* send("/v1/oauth/token", {
        method: "POST",
        body: "grant_type=client_credentials&scope=api"
      })
      expect(json(issued).expires_in).toBe(60)
      const bearer = { authorization: `Bearer ${json(issued).access_token}` }
      expect((yield* send("/v1/async-actions", { auth: "none", headers: bearer })).status).toBe(200)
      yield* TestClock.adjust("59999 millis")
      expect((yield* send("/v1/async-actions", { auth: "none", headers: bearer })).status).toBe(200)
      yield* TestClock.adjust("1 millis")
      const expired = yield* send("/v1/async-actions", { auth: "none", headers: bearer })
      expect(expired.status).toBe(401)
      expect(json(expired)).toEqual({ code: 401, message: "Unauthorized", key: "unauthorized" })
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ tokenTtl: "1 minute" })), withTestClock))

  it.live("the library client with OAuth scopes gets a token and uses it", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const server = yield* Server
      const { async_action_id } = yield* v.updateProductsMetadataInBulk({ source_ids: ["t1"], metadata: { o: 1 } })
      yield* v.awaitAsyncAction(async_action_id, fastPoll)
      const requests = yield* server.requests
      expect(requests[0]).toMatchObject({ method: "POST", url: "/v1/oauth/token", status: 200 })
      expect(requests[0]!.headers["x-app-token"]).toBe("<redacted>")
      for (const request of requests.slice(1)) {
        expect(request.headers["authorization"]).toBe("Bearer <redacted>")
        expect(request.headers["x-app-token"]).toBeUndefined()
      }
    }).pipe(Effect.provide(serverWithClient({}, { oauthScopes: ["products", "async-actions"] }))))
})

describe("layerClientConfig", () => {
  it.live("points VoucherifyConfig at the server with its credentials", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const config = yield* VoucherifyConfig.VoucherifyConfig
      expect(config.baseUrl).toBe(server.baseUrl)
      expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(config.auth).toEqual({ _tag: "AppKeys", appId: "custom-id", appToken: server.appToken })
      expect(Redacted.value(server.appToken)).toBe("custom-token")
    }).pipe(
      Effect.provide(
        MockVoucherifyServer.layerClientConfig().pipe(
          Layer.provideMerge(MockVoucherifyServer.layer({ appId: "custom-id", appToken: "custom-token" }))
        )
      )
    ))
})

const tooLarge = (limit: number) => ({
  statusCode: 413,
  error: "Request Entity Too Large",
  message: `Payload content length greater than maximum allowed: ${limit}`
})

const MB = 1024 * 1024

/** The log entry of the last request. */
const lastRequest = Effect.map(
  Effect.flatMap(Server, (server) => server.requests),
  (requests) => requests[requests.length - 1]!
)

layer(MockVoucherifyServer.layer(), { excludeTestServices: true })("payload size", (it) => {
  it.effect("a 50 MB Content-Length gets the gateway 413 without the body being read (fetch)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const before = yield* server.bytesReceived
      const sent = yield* send("/v1/products/metadata/async", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new Uint8Array(50 * MB)
      })
      expect(sent.status).toBe(413)
      expect(json(sent)).toEqual(tooLarge(10_485_760))
      // the server read the headers and at most a socket buffer or two, then closed
      const received = yield* pollUntil(
        Effect.map(server.bytesReceived, (total) => total - before),
        (bytes) => bytes > 0
      )
      expect(received).toBeLessThan(1 * MB)
      expect(yield* lastRequest).toMatchObject({ status: 413, outcome: "payload_too_large", bodyBytes: 0 })
      expect(yield* server.asyncActions).toEqual([])
    }))

  it.effect("a chunked body that grows past the limit is cut off with the same 413 (fetch)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const before = yield* server.bytesReceived
      let pushed = 0
      const chunk = new Uint8Array(64 * 1024).fill(32)
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) => {
          if (pushed >= 50 * MB) return controller.close()
          pushed += chunk.length
          controller.enqueue(chunk)
        }
      })
      const sent = yield* send("/v1/customers/metadata/async", {
        method: "POST",
        body,
        duplex: "half"
      } as RequestInit)
      expect(sent.status).toBe(413)
      expect(json(sent)).toEqual(tooLarge(10_485_760))
      const entry = yield* lastRequest
      expect(entry).toMatchObject({ status: 413, outcome: "payload_too_large" })
      expect(entry.bodyBytes).toBeGreaterThan(10_485_760)
      expect(entry.bodyBytes).toBeLessThan(10_485_760 + 1 * MB)
      // the rest is dropped unread (up to twice the limit), then the client stops or is cut off
      expect((yield* server.bytesReceived) - before).toBeLessThan(31 * MB)
      expect(pushed).toBeLessThan(50 * MB)
    }))

  it.effect("the library client reports the server's 413 as PayloadTooLargeError", () =>
    Effect.gen(function*() {
      const v = yield* voucherify
      const error = yield* Effect.flip(v.updateProductsMetadataInBulk({
        source_ids: Array.from({ length: 200 }, (_, i) => `product-${i}`),
        metadata: {}
      }))
      expect(error).toMatchObject({ _tag: "PayloadTooLargeError", source: "server", status: 413, limit: 1000 })
      expect(error.message).toContain("maximum allowed: 1000")
      const server = yield* Server
      expect(yield* server.count("products")).toBe(0)
    }).pipe(Effect.provide(serverWithClient({ maxPayloadBytes: 1000 }))))
})

layer(MockVoucherifyServer.layer(), { excludeTestServices: true })("faults", (it) => {
  const withFaults = (rules: ReadonlyArray<MockVoucherifyServer.FaultRule>, seed?: number) =>
    Effect.flatMap(Server, (server) => Effect.zipRight(server.setFaults({ rules, seed }), server.reset))
  const withClient = (client: MockVoucherifyServer.ClientOptions = {}) => Effect.provide(MockVoucherifyServer.layerClient({ client: { retry: { maxRetries: 0 }, ...client } }))
  const bulkPath = "/v1/products/metadata/async"
  const update = Effect.flatMap(voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: ["f1"], metadata: { f: 1 } }))
  const post = postJson(bulkPath, { source_ids: ["f1"], metadata: { f: 1 } })
  const actionCount = Effect.flatMap(Server, (server) => Effect.map(server.asyncActions, (actions) => actions.length))

  it.effect("500, 502, 503, 504 with JSON, gateway, HTML and empty bodies (fetch)", () =>
    Effect.gen(function*() {
      const cases = [
        [500, "application/json", (s: Sent) => expect(json(s)).toMatchObject({ code: 500, key: expect.any(String) })],
        [502, "text/html", (s: Sent) => expect(s.text).toContain("<title>502 Bad Gateway</title>")],
        [503, "application/json", (s: Sent) => expect(json(s)).toMatchObject({ statusCode: 503, error: expect.any(String) })],
        [504, "text/html", (s: Sent) => expect(s.text).toContain("504")]
      ] as const
      for (const [status, contentType, check] of cases) {
        yield* withFaults([{ fault: { _tag: "ServerError", status } }])
        const sent = yield* post
        expect(sent.status).toBe(status)
        expect(sent.headers.get("content-type")).toContain(contentType)
        check(sent)
        expect(yield* lastRequest).toMatchObject({ status, outcome: "fault", fault: "ServerError" })
      }
      yield* withFaults([{ fault: { _tag: "ServerError", status: 500, body: "empty" } }])
      expect((yield* post).text).toBe("")
      expect(yield* actionCount).toBe(0)
    }))

  it.effect("5xx with the library client: a typed ServerError, or success after retries", () =>
    Effect.gen(function*() {
      yield* withFaults([{ fault: { _tag: "ServerError", status: 502 } }])
      const error = yield* Effect.flip(update.pipe(withClient()))
      expect(error).toMatchObject({ _tag: "ServerError", status: 502 })
      expect(error.message).toContain("502 Bad Gateway")
      yield* withFaults([{ fault: { _tag: "ServerError", status: 503 }, first: 2, path: bulkPath }])
      const accepted = yield* update.pipe(withClient({ retry: fastRetries }))
      const server = yield* Server
      expect((yield* server.requests).map((r) => r.status)).toEqual([503, 503, 202])
      expect((yield* server.asyncActions).map((a) => a.id)).toEqual([accepted.async_action_id])
    }))

  it.effect("429 with Retry-After (both clients)", () =>
    Effect.gen(function*() {
      yield* withFaults([{ fault: { _tag: "RateLimited", retryAfter: "2 seconds" } }])
      const sent = yield* post
      expect(sent.status).toBe(429)
      expect(json(sent)).toEqual({ code: 429, message: "Too many requests hit the API too quickly." })
      expect(sent.headers.get("retry-after")).toBe("2")
      expect(sent.headers.get("x-rate-limit-type")).toBe("api_calls")
      const error = yield* Effect.flip(update.pipe(withClient()))
      expect(error).toMatchObject({ _tag: "RateLimitError", status: 429, limitType: "api_calls" })
      yield* withFaults([{ fault: { _tag: "RateLimited", retryAfter: 0 }, first: 1 }])
      yield* update.pipe(withClient({ retry: fastRetries }))
      expect(yield* actionCount).toBe(1)
    }))

  it.effect("a reset before the body is read changes nothing; a retry then succeeds once (both clients)", () =>
    Effect.gen(function*() {
      yield* withFaults([{ fault: { _tag: "ResetBeforeBody" } }])
      const failure = yield* Effect.flip(post)
      expect(String(failure)).toContain("fetch failed")
      expect(yield* lastRequest).toMatchObject({ status: undefined, outcome: "fault", fault: "ResetBeforeBody" })
      expect(yield* actionCount).toBe(0)
      const error = yield* Effect.flip(update.pipe(withClient()))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Transport" })
      expect(yield* actionCount).toBe(0)
      yield* withFaults([{ fault: { _tag: "ResetBeforeBody" }, first: 1 }])
      yield* update.pipe(withClient({ retry: fastRetries }))
      expect(yield* actionCount).toBe(1)
    }))

  it.effect("a reset after processing keeps the work: a retry creates a second async action (both clients)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* withFaults([{ fault: { _tag: "ResetAfterProcessing" }, first: 1 }])
      yield* Effect.flip(post)
      const entry = yield* lastRequest
      expect(entry).toMatchObject({ status: undefined, outcome: "accepted", fault: "ResetAfterProcessing" })
      expect(entry.asyncActionId).toMatch(asyncActionId)
      yield* awaitDone(entry.asyncActionId!)
      expect(yield* server.getMetadata("products", "f1")).toEqual(Option.some({ f: 1 }))
      yield* withFaults([{ fault: { _tag: "ResetAfterProcessing" }, first: 1 }])
      const accepted = yield* update.pipe(withClient({ retry: fastRetries }))
      const actions = yield* server.asyncActions
      expect(actions).toHaveLength(2)
      expect(actions[1]!.id).toBe(accepted.async_action_id)
    }))

  it.effect("a delayed answer outlives the client's timeout; the request was processed (both clients)", () =>
    Effect.gen(function*() {
      yield* withFaults([{ fault: { _tag: "Delay", duration: "2 seconds" } }])
      const error = yield* Effect.flip(update.pipe(withClient({ timeout: "200 millis" })))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      expect(yield* actionCount).toBe(1)
      const aborted = yield* Effect.flip(send("/v1/async-actions", { signal: AbortSignal.timeout(200) }))
      expect(String(aborted)).toMatch(/abort|timeout/i)
      const entry = yield* pollUntil(lastRequest, (e) => e.outcome !== "pending")
      expect(entry).toMatchObject({ fault: "Delay", outcome: "client_aborted", status: undefined })
    }))

  it.effect("a 2xx with malformed JSON (both clients)", () =>
    Effect.gen(function*() {
      yield* withFaults([{ fault: { _tag: "MalformedJson" } }])
      const sent = yield* post
      expect(sent.status).toBe(202)
      expect(() => JSON.parse(sent.text)).toThrow()
      const error = yield* Effect.flip(update.pipe(withClient()))
      expect(error).toMatchObject({ _tag: "ResponseDecodeError", status: 202 })
      expect(yield* actionCount).toBe(2)
    }))

  it.effect("a redirect to another loopback address (both clients)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* withFaults([{ fault: { _tag: "Redirect" } }])
      const sent = yield* send(bulkPath, { method: "POST", body: "{}", redirect: "manual" })
      expect(sent.status).toBe(307)
      expect(sent.headers.get("location")).toBe(`http://127.0.0.2:${server.port}${bulkPath}`)
      const error = yield* Effect.flip(update.pipe(withClient({ retry: fastRetries })))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Redirect", status: 307 })
      expect((yield* server.requests).length).toBe(2)
      expect(yield* actionCount).toBe(0)
    }))

  it.effect("ActionFailed: the request is accepted, its action ends FAILED and changes no record (fetch)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* withFaults([{ fault: { _tag: "ActionFailed" }, method: "POST", first: 1 }])
      const sent = yield* post
      expect(sent.status).toBe(202)
      // no processing delay: it has ended already
      const action = json(yield* send(`/v1/async-actions/${json(sent).async_action_id}`))
      expect(action).toMatchObject({ status: "FAILED", operation_status: "FAILED", result: { done_count: 0, failed_count: 1 } })
      expect(yield* server.getMetadata("products", "f1")).toEqual(Option.none())
      const next = yield* post
      yield* awaitDone(json(next).async_action_id)
      expect(yield* server.getMetadata("products", "f1")).toEqual(Option.some({ f: 1 }))
      expect((yield* server.requests).map((r) => r.fault).filter((fault) => fault !== undefined)).toEqual(["ActionFailed"])
    }))

  it.effect("rules can be limited to a path, a method and the first N matching requests", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* withFaults([
        { fault: { _tag: "ServerError", status: 500 }, path: /^\/v1\/async-actions\//, method: "GET" },
        { fault: { _tag: "ServerError", status: 502 }, path: "/v1/async-actions", first: 2 }
      ])
      expect((yield* post).status).toBe(202)
      expect((yield* send("/v1/async-actions/aa_1")).status).toBe(500)
      const list = []
      for (let i = 0; i < 3; i++) list.push((yield* send("/v1/async-actions")).status)
      expect(list).toEqual([502, 502, 200])
      expect((yield* server.requests).map((r) => r.fault)).toEqual([
        undefined,
        "ServerError",
        "ServerError",
        "ServerError",
        undefined
      ])
    }))

  it.effect("the same seed replays the same fault sequence; another seed gives another", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const rules = [{ fault: { _tag: "ServerError", status: 503 }, rate: 0.5 }] as const
      const sequence = Effect.gen(function*() {
        for (let i = 0; i < 24; i++) yield* send("/v1/async-actions")
        return (yield* server.requests).map((r) => (r.fault === undefined ? "." : "x")).join("")
      })
      yield* withFaults(rules, 42)
      const first = yield* sequence
      yield* server.reset
      const replay = yield* sequence
      yield* withFaults(rules, 7)
      const other = yield* sequence
      expect(first).toMatch(/x/)
      expect(first).toMatch(/\./)
      expect(replay).toBe(first)
      expect(other).not.toBe(first)
    }))
})

describe("rate limits", () => {
  it.live("an hourly bulk quota: headers on every answer, then 429 bulk_api_calls (both clients)", () =>
    Effect.gen(function*() {
      const body = { source_ids: ["q"], metadata: {} }
      // the window opens at the first call, somewhere between these two readings of the clock
      const opened = Date.now()
      const first = yield* postJson("/v1/products/metadata/async", body)
      expect(first.status).toBe(202)
      expect(first.headers.get("x-rate-limit-limit")).toBe("2")
      expect(first.headers.get("x-rate-limit-remaining")).toBe("1")
      expect(first.headers.get("x-rate-limit-type")).toBe("bulk_api_calls")
      expect((yield* postJson("/v1/customers/metadata/async", body)).headers.get("x-rate-limit-remaining")).toBe("0")
      const refused = yield* postJson("/v1/products/metadata/async", body)
      const answered = Date.now()
      expect(refused.status).toBe(429)
      expect(json(refused)).toEqual({ code: 429, message: "Too many requests hit the API too quickly." })
      expect(refused.headers.get("x-rate-limit-type")).toBe("bulk_api_calls")
      expect(refused.headers.get("x-rate-limit-remaining")).toBe("0")
      // the hour from the window's opening, however long the calls took
      const retryAfter = Number(refused.headers.get("retry-after"))
      expect(retryAfter).toBeLessThanOrEqual(3600)
      expect(retryAfter).toBeGreaterThanOrEqual(3600 - Math.ceil((answered - opened) / 1000))
      const retryAt = Number(refused.headers.get("x-rate-limit-retry"))
      expect(retryAt).toBeGreaterThanOrEqual(Math.ceil((opened + 3_600_000) / 1000))
      expect(retryAt).toBeLessThanOrEqual(Math.ceil((answered + 3_600_000) / 1000))
      // other endpoints are not bulk calls
      expect((yield* send("/v1/async-actions")).status).toBe(200)
      // an hour is longer than the client will wait: it fails at once, with no retry
      const error = yield* Effect.flip(
        Effect.flatMap(voucherify, (v) => v.updateProductsMetadataInBulk(body))
      )
      expect(error).toMatchObject({ _tag: "RateLimitError", limitType: "bulk_api_calls", limit: 2, remaining: 0 })
      const server = yield* Server
      expect((yield* server.requests).filter((r) => r.outcome === "rate_limited")).toHaveLength(2)
    }).pipe(Effect.provide(serverWithClient({ rateLimits: { bulkCallsPerHour: 2 } }, { retry: fastRetries }))))

  it.live("per-minute quotas for bulk and for all calls", () =>
    Effect.gen(function*() {
      const body = { source_ids: ["q"], metadata: {} }
      expect((yield* postJson("/v1/products/metadata/async", body)).headers.get("x-rate-limit-remaining")).toBe("0")
      const bulk = yield* postJson("/v1/products/metadata/async", body)
      expect(bulk.status).toBe(429)
      expect(Number(bulk.headers.get("retry-after"))).toBeLessThanOrEqual(60)
      expect((yield* send("/v1/async-actions")).status).toBe(200)
      expect((yield* send("/v1/async-actions")).status).toBe(200)
      const calls = yield* send("/v1/async-actions")
      expect(calls.status).toBe(429)
      expect(calls.headers.get("x-rate-limit-type")).toBe("api_calls")
      expect(calls.headers.get("x-rate-limit-limit")).toBe("3")
      const error = yield* Effect.flip(Effect.flatMap(voucherify, (v) => v.listAsyncActions()))
      expect(error).toMatchObject({ _tag: "RateLimitError", limitType: "api_calls" })
    }).pipe(Effect.provide(serverWithClient({ rateLimits: { bulkCallsPerMinute: 1, apiCallsPerMinute: 3 } }))))

  it.live("an exhausted billing cycle: 429 api_calls_cycle, never retried (both clients)", () =>
    Effect.gen(function*() {
      const server = yield* Server
      expect((yield* send("/v1/async-actions")).status).toBe(200)
      const cycle = yield* send("/v1/async-actions")
      expect(cycle.status).toBe(429)
      expect(cycle.headers.get("x-rate-limit-type")).toBe("api_calls_cycle")
      yield* server.reset
      yield* server.exhaustCycle
      const error = yield* Effect.flip(Effect.flatMap(voucherify, (v) => v.listAsyncActions()))
      expect(error).toMatchObject({ _tag: "RateLimitError", limitType: "api_calls_cycle" })
      expect(yield* server.requests).toHaveLength(1)
      yield* server.reset
      expect((yield* send("/v1/async-actions")).status).toBe(200)
    }).pipe(Effect.provide(serverWithClient({ rateLimits: { apiCallsPerCycle: 1 } }, { retry: fastRetries }))))
})

// `npm run mock-server` runs this command from the sources; the bundled `bin` starts in a fraction of the time
describe("effect-voucherify mock-server", () => {
  const spawnServer = (args: ReadonlyArray<string>) =>
    Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [inject("cliBin"), "mock-server", ...args], {
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
    )

  it.live("runs in a child process, prints where it listens and the keys it takes, takes --faults, stops on SIGINT", () =>
    Effect.gen(function*() {
      const faults = { rules: [{ fault: { _tag: "ServerError", status: 503 }, path: "/v1/async-actions", first: 1 }] }
      const child = yield* spawnServer(["--port", "0", "--processing-delay", "5", "--faults", JSON.stringify(faults), "--json"])
      const [line] = yield* Effect.promise(() => once(createInterface({ input: child.stdout! }), "line"))
      const printed = JSON.parse(line as string)
      expect(printed).toEqual({
        baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        appId: "mock-app-id",
        appToken: "mock-app-token"
      })
      const headers = { "x-app-id": printed.appId, "x-app-token": printed.appToken }
      const accepted = yield* Effect.promise(() =>
        fetch(`${printed.baseUrl}/v1/products/metadata/async`, {
          method: "POST",
          headers,
          body: JSON.stringify({ source_ids: ["child"], metadata: {} })
        })
      )
      expect(accepted.status).toBe(202)
      const list = () => Effect.promise(() => fetch(`${printed.baseUrl}/v1/async-actions`, { headers }))
      // the rule fires on the first matching request only
      expect((yield* list()).status).toBe(503)
      expect((yield* list()).status).toBe(200)
      const exited = Effect.promise(() => once(child, "exit"))
      child.kill("SIGINT")
      yield* exited
      const refused = yield* Effect.either(Effect.tryPromise(() => fetch(`${printed.baseUrl}/v1/async-actions`)))
      expect(refused._tag).toBe("Left")
    }).pipe(Effect.scoped), 30_000)

  it.live("refuses --faults that do not hold up, naming the field, and exits 1", () =>
    Effect.gen(function*() {
      const faults = { rules: [{ fault: { _tag: "ServerError" }, rate: 2 }] }
      const child = yield* spawnServer(["--faults", JSON.stringify(faults)])
      let stderr = ""
      child.stderr!.on("data", (chunk) => {
        stderr += String(chunk)
      })
      const [code] = yield* Effect.promise(() => once(child, "exit"))
      expect(code).toBe(1)
      expect(stderr).toContain("--faults rules[0].rate: Expected a number between 0 and 1, actual 2")
    }).pipe(Effect.scoped), 30_000)
})
