import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as VoucherifyTest from "../src/testing/VoucherifyTest.js"
import { Voucherify } from "../src/Voucherify.js"
import type { AsyncAction } from "../src/VoucherifySchema.js"

const rowsOf = (action: AsyncAction) =>
  Effect.flatMap(Voucherify, (voucherify) =>
    voucherify.readReport(action.result!.reports![0]!, { availableTill: action.result!.reports_available_till }).pipe(
      Stream.runCollect,
      Effect.map((rows) => Chunk.toArray(rows).map(({ found, id, updated }) => ({ id, found, updated })))
    ))

const update = (target: "products" | "vouchers", ids: ReadonlyArray<string>) =>
  Effect.flatMap(Voucherify, (voucherify) =>
    Effect.flatMap(
      target === "vouchers"
        ? voucherify.updateVouchersMetadataInBulk({ codes: ids, metadata: { m: 1 } })
        : voucherify.updateProductsMetadataInBulk({ source_ids: ids, metadata: { m: 1 } }),
      ({ async_action_id }) => voucherify.awaitAsyncAction(async_action_id, { timeout: "10 seconds" })
    ))

describe("report files over real HTTP (MockVoucherifyServer)", () => {
  it.live("a finished update's report says which records were found and which were created", () =>
    Effect.gen(function*() {
      const action = yield* update("products", ["old-1", "new,1", "old-2", "new \"2\"", "old-1"])
      expect(action.result?.reports).toHaveLength(1)
      expect(Redacted.value(action.result!.reports![0]!)).toMatch(/\/v1\/async-actions-reports\/aa_[0-9a-f]+\.csv\?token=[0-9a-f]{32}$/)
      expect(yield* rowsOf(action)).toEqual([
        { id: "old-1", found: true, updated: true },
        { id: "new,1", found: false, updated: true },
        { id: "old-2", found: true, updated: true },
        { id: "new \"2\"", found: false, updated: true }
      ])
      const vouchers = yield* update("vouchers", ["V1", "NOPE"])
      expect(yield* rowsOf(vouchers)).toEqual([
        { id: "V1", found: true, updated: true },
        { id: "NOPE", found: false, updated: false }
      ])
    }).pipe(
      Effect.provide(MockVoucherifyServer.layerTest({ records: { products: ["old-1", "old-2"], vouchers: ["V1"] } }))
    ))

  it.live("needs the app keys, hides its token, and is gone after reports_available_till", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const voucherify = yield* Voucherify
      const action = yield* update("products", ["p1"])
      const url = Redacted.value(action.result!.reports![0]!)
      expect((yield* Effect.promise(() => fetch(url))).status).toBe(401)
      const log = yield* server.requests
      expect(JSON.stringify(log)).not.toContain(new URL(url).searchParams.get("token"))
      // past its time: not requested at all
      yield* Effect.sleep("300 millis")
      const before = (yield* server.requests).length
      const expired = yield* Effect.flip(
        Stream.runDrain(voucherify.readReport(url, { availableTill: action.result!.reports_available_till }))
      )
      expect(expired).toMatchObject({ _tag: "ReportExpiredError", url: url.split("?")[0] })
      expect((yield* server.requests).length).toBe(before)
      // without the date, the server's 410 says the same
      const gone = yield* Effect.flip(Stream.runDrain(voucherify.readReport(url)))
      expect(gone).toMatchObject({ _tag: "ReportExpiredError", status: 410 })
      expect(JSON.stringify([expired, gone]) + expired.message + gone.message).not.toContain("token=")
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ reportTtl: "200 millis" }))))

  it.live("an OAuth client reads its reports too", () =>
    Effect.gen(function*() {
      const action = yield* update("products", ["o1"])
      expect(yield* rowsOf(action)).toEqual([{ id: "o1", found: false, updated: true }])
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ client: { oauthScopes: ["products", "async-actions"] } }))))

  it.live("client options that do not hold up fail the test layer with the ConfigError, not a defect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(MockVoucherifyServer.layerTest({ client: { timeout: 0 } })).pipe(Effect.scoped))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("timeout")
    }))

  it.live("a report URL on another host gets no request and no credential", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      for (const url of ["https://reports.example.com/r.csv?token=SECRET1", "http://127.0.0.2:9/r.csv?token=SECRET1"]) {
        const refused = yield* Effect.flip(Stream.runDrain(voucherify.readReport(url)))
        expect(refused).toMatchObject({ _tag: "UntrustedUrlError", reason: "Host" })
        expect(JSON.stringify(refused) + refused.message).not.toContain("SECRET1")
      }
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())))
})

describe("report files in memory (VoucherifyTest)", () => {
  it.effect("the same rows, on the TestClock, and the same expiry", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(update("products", ["seed", "fresh"]))
      yield* TestClock.adjust("5 seconds")
      const action = yield* Fiber.join(fiber)
      expect(Redacted.value(action.result!.reports![0]!)).toMatch(/^https:\/\/download\.voucherify\.io\/v1\/async-actions-reports\//)
      expect(yield* rowsOf(action)).toEqual([
        { id: "seed", found: true, updated: true },
        { id: "fresh", found: false, updated: true }
      ])
      yield* TestClock.adjust("2 hours")
      const expired = yield* Effect.flip(rowsOf(action))
      expect(expired._tag).toBe("ReportExpiredError")
    }).pipe(Effect.provide(VoucherifyTest.layer({ records: { products: ["seed"] }, reportTtl: "1 hour" }))))
})

describe("BulkMetadata reconcile", () => {
  const reconciled = (
    target: "products" | "vouchers",
    ids: ReadonlyArray<string>,
    maxBytes?: number
  ) =>
    Effect.gen(function*() {
      const created: Array<string> = []
      const notUpdated: Array<string> = []
      const report = yield* BulkMetadata.run(ids, {
        target,
        metadata: { season: "summer" },
        ...(maxBytes !== undefined ? { maxBytes } : {}),
        await: { timeout: "30 seconds" },
        onCreated: (chunk) => Effect.sync(() => created.push(...chunk)),
        onNotUpdated: (chunk) => Effect.sync(() => notUpdated.push(...chunk))
      })
      return { report, created, notUpdated }
    })

  it.live("over HTTP: 1000 new ids are all created; a second run over those and 500 more creates exactly the 500", () =>
    Effect.gen(function*() {
      const first = Array.from({ length: 1000 }, (_, i) => `new-${i}`)
      const run1 = yield* reconciled("products", first, 4000)
      expect(run1.report.accepted.chunks).toBeGreaterThan(1)
      expect(run1.report.reconciliation).toEqual({ created: 1000, updated: 0, notUpdated: 0, unread: [] })
      expect(run1.created.sort()).toEqual([...first].sort())
      const more = Array.from({ length: 500 }, (_, i) => `more-${i}`)
      const run2 = yield* reconciled("products", [...first, ...more], 4000)
      expect(run2.report.reconciliation).toEqual({ created: 500, updated: 1000, notUpdated: 0, unread: [] })
      expect(run2.created.sort()).toEqual([...more].sort())
      const vouchers = yield* reconciled("vouchers", ["V1", "TYPO-1", "V2", "TYPO-2"])
      expect(vouchers.report.reconciliation).toEqual({ created: 0, updated: 2, notUpdated: 2, unread: [] })
      expect(vouchers.notUpdated).toEqual(["TYPO-1", "TYPO-2"])
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ records: { vouchers: ["V1", "V2"] } }))))

  it.live("a report it cannot read is named, and the run goes on", () =>
    Effect.gen(function*() {
      const run = yield* reconciled("products", ["a", "b"])
      expect(run.report.status).toBe("completed")
      expect(run.report.reconciliation).toMatchObject({
        created: 0,
        unread: [{ chunkIndex: 0, reason: expect.stringContaining("not on a host that gets the credentials") }]
      })
      expect(JSON.stringify(run.report)).not.toContain("token=")
      expect(run.created).toEqual([])
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ reportOrigin: "http://127.0.0.2:9" }))))
})
