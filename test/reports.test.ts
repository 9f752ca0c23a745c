import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fiber from "effect/Fiber"
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
      expect(action.result?.reports?.[0]).toMatch(/\/v1\/async-actions-reports\/aa_[0-9a-f]+\.csv\?token=[0-9a-f]{32}$/)
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
      const url = action.result!.reports![0]!
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
      expect(action.result?.reports?.[0]).toMatch(/^https:\/\/download\.voucherify\.io\/v1\/async-actions-reports\//)
      expect(yield* rowsOf(action)).toEqual([
        { id: "seed", found: true, updated: true },
        { id: "fresh", found: false, updated: true }
      ])
      yield* TestClock.adjust("2 hours")
      const expired = yield* Effect.flip(rowsOf(action))
      expect(expired._tag).toBe("ReportExpiredError")
    }).pipe(Effect.provide(VoucherifyTest.layer({ products: ["seed"], reportTtl: "1 hour" }))))
})
