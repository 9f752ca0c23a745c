import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as TestClock from "effect/TestClock"
import * as BulkJournal from "../src/BulkJournal.js"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRun from "../src/BulkRun.js"
import { mayHaveArrived } from "../src/internal/http/errorRules.js"
import type { EncodedBulkRequest } from "../src/internal/bulk/payload.js"
import * as VoucherifyTest from "../src/testing/VoucherifyTest.js"
import * as Voucherify from "../src/Voucherify.js"
import * as VoucherifyConfig from "../src/VoucherifyConfig.js"
import {
  BadRequestError,
  ForbiddenError,
  PayloadTooLargeError,
  RateLimitError,
  ServerError,
  TransportError,
  UnauthorizedError,
  type VoucherifyError
} from "../src/VoucherifyError.js"
import type { RateLimitHeaders } from "../src/internal/http/responseError.js"
import { AsyncActionId } from "../src/VoucherifySchema.js"
import { joinAdvancing } from "./support/clock.js"
import { expectBalanced } from "./support/report.js"

const decoder = new TextDecoder()
/** Ids of 7 bytes each in a body: `"p0000"`. */
const ids = (n: number, prefix = "p") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`)
const frame = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata: {} }))
/** A limit that fits exactly `k` ids of `idBytes` bytes each (quotes included). */
const fitting = (k: number, idBytes: number) => frame + k * idBytes + (k - 1)

/** What the double saw: every body it was asked to send, decoded. */
interface Sent {
  readonly target: string
  readonly ids: ReadonlyArray<string>
  readonly bytes: number
}

/**
 * A `Voucherify` double for sending: `answer` decides each call (by call
 * number) after a few yields, so that concurrent calls interleave.
 */
const makeDouble = (
  answer: (
    call: number,
    request: EncodedBulkRequest
  ) => Effect.Effect<RateLimitHeaders | void, VoucherifyError> = () => Effect.void,
  maxPayloadBytes: number = VoucherifyConfig.defaults.maxPayloadBytes
) => {
  const sent: Array<Sent> = []
  /** Clock time of every call, accepted or not. */
  const calledAt: Array<number> = []
  let calls = 0
  let active = 0
  let maxActive = 0
  const service = Voucherify.Voucherify.of({
    maxPayloadBytes,
    sendEncodedBulkRequest: (request) =>
      Effect.suspend(() => {
        const call = calls++
        active++
        maxActive = Math.max(maxActive, active)
        const body = JSON.parse(decoder.decode(request.body))
        return Clock.currentTimeMillis.pipe(
          Effect.tap((now) => calledAt.push(now)),
          Effect.zipRight(Effect.yieldNow().pipe(Effect.repeatN((call % 3) * 4))),
          Effect.zipRight(answer(call, request)),
          Effect.map((rateLimit) => ({
            async_action_id: AsyncActionId.make(`aa_${call}`),
            ...(rateLimit ? { rateLimit } : {})
          })),
          Effect.tap(() =>
            Effect.sync(() =>
              sent.push({ target: request.target, ids: body.source_ids ?? body.codes, bytes: request.body.byteLength })
            )
          ),
          Effect.ensuring(Effect.sync(() => active--))
        )
      }),
    readReport: () => Stream.die("unused"),
    updateProductsMetadataInBulk: () => Effect.die("unused"),
    updateCustomersMetadataInBulk: () => Effect.die("unused"),
    updateVouchersMetadataInBulk: () => Effect.die("unused"),
    updateProductsInBulk: () => Effect.die("unused"),
    updateCustomersInBulk: () => Effect.die("unused"),
    updateVouchersInBulk: () => Effect.die("unused"),
    getAsyncAction: () => Effect.die("unused"),
    listAsyncActions: () => Effect.die("unused"),
    awaitAsyncAction: () => Effect.die("unused")
  })
  return {
    layer: Layer.succeed(Voucherify.Voucherify, service),
    sent,
    calledAt,
    calls: () => calls,
    maxActive: () => maxActive
  }
}

const badRequest = new BadRequestError({ status: 400, key: "invalid_payload" })

describe("BulkMetadata.run against a double", () => {
  it.effect("sends every id once in full chunks, keeps result order and balances the report", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const input = ids(1000)
      const report = yield* BulkMetadata.run(input, {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        concurrency: 3
      })
      expectBalanced(report)
      expect(report).toMatchObject({
        status: "completed",
        total: 1000,
        accepted: { items: 1000 },
        rejected: [],
        unknown: [],
        notAttempted: []
      })
      expect(report.accepted.actions.map((a) => a.chunkIndex)).toEqual(
        Array.from({ length: report.chunks }, (_, i) => i)
      )
      expect(double.sent.flatMap((s) => s.ids).sort()).toEqual([...input].sort())
      expect(double.sent.every((s) => s.bytes <= fitting(10, 7))).toBe(true)
      expect(double.maxActive()).toBe(3)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("the report lists the chunks in input order whatever order the requests finish in", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const report = yield* BulkMetadata.run(ids(200), {
        target: "products",
        metadata: {},
        maxBytes: fitting(7, 7),
        concurrency: 4
      })
      const actions = report.accepted.actions
      expect(actions.length).toBe(report.chunks)
      expect(actions.map((a) => a.chunkIndex)).toEqual(actions.map((_, i) => i))
      expect(actions.map((a) => a.offset)).toEqual(actions.map((_, i) => Math.min(i * 7, 200)))
      expect(report.accepted.items).toBe(200)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("at most concurrency + 1 bodies exist while requests are in flight", () =>
    Effect.gen(function*() {
      const double = makeDouble(() => Effect.never)
      const progress = yield* SubscriptionRef.make<BulkRun.Progress | undefined>(undefined)
      const fiber = yield* BulkMetadata.run(Stream.fromIterable(ids(10_000)), {
        target: "products",
        metadata: {},
        maxBytes: fitting(5, 7),
        concurrency: 2,
        onProgress: progress as SubscriptionRef.SubscriptionRef<BulkRun.Progress>
      }).pipe(Effect.provide(double.layer), Effect.fork)
      // until both requests hang in flight, then long enough for any third body to be built
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => double.calls() >= 2 }))
      yield* Effect.yieldNow().pipe(Effect.repeatN(2000))
      const seen = (yield* SubscriptionRef.get(progress))!
      expect(double.calls()).toBe(2)
      expect(seen.chunksSent).toBe(2)
      expect(seen.chunksPacked).toBe(3)
      // the input is read with back-pressure too: far from all 10,000 ids
      expect(seen.itemsRead).toBeLessThan(10_000)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a refused chunk stops the run by default; the error carries the report", () => {
    const double = makeDouble((call) => call === 2 ? Effect.fail(badRequest) : Effect.void)
    return Effect.gen(function*() {
      const error = yield* Effect.flip(
        BulkMetadata.run(ids(100), { target: "products", metadata: {}, maxBytes: fitting(10, 7), concurrency: 1 })
      )
      expect(error._tag).toBe("BulkRunError")
      expect(error.error).toMatchObject({ _tag: "BadRequestError", status: 400 })
      const report = error.report
      expectBalanced(report)
      expect(report.status).toBe("failed")
      expect(report.accepted.items).toBe(20)
      expect(report.rejected).toMatchObject([{ chunkIndex: 2, offset: 20, count: 10, error: { _tag: "BadRequestError" } }])
      expect(report.notAttempted[0]!.offset).toBe(30)
      expect(double.calls()).toBe(3)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("onChunkError continue reports refused and unknown chunks and finishes the rest", () => {
    const timeout = new TransportError({ reason: "Timeout", description: "slow" })
    const double = makeDouble((call) =>
      call === 1 ? Effect.fail(badRequest) : call === 4 ? Effect.fail(timeout) : Effect.void
    )
    return Effect.gen(function*() {
      const report = yield* BulkMetadata.run(ids(100), {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        concurrency: 1,
        onChunkError: "continue"
      })
      expect(report.status).toBe("completed")
      expect(report.accepted.actions.map((a) => a.chunkIndex)).toEqual([0, 2, 3, 5, 6, 7, 8, 9])
      expectBalanced(report)
      expect(report).toMatchObject({ total: 100, accepted: { items: 80, chunks: 8 } })
      expect(report.rejected).toMatchObject([{ chunkIndex: 1, offset: 10, count: 10 }])
      expect(report.unknown).toMatchObject([{ chunkIndex: 4, offset: 40, count: 10, error: { reason: "Timeout" } }])
    }).pipe(Effect.provide(double.layer))
  })

  it.effect.each([
    ["401", new UnauthorizedError({ status: 401, key: "unauthorized" })],
    ["403", new ForbiddenError({ status: 403, key: "forbidden" })],
    ["api_calls_cycle", new RateLimitError({ status: 429, limitType: "api_calls_cycle" })]
  ] as const)("a %s stops the run even with onChunkError continue", ([, failure]) => {
    const double = makeDouble((call) => call === 3 ? Effect.fail(failure) : Effect.void)
    return Effect.gen(function*() {
      const error = yield* Effect.flip(
        BulkMetadata.run(ids(100), {
          target: "customers",
          metadata: {},
          maxBytes: fitting(10, 7),
          concurrency: 1,
          onChunkError: "continue"
        })
      )
      expect(error.error).toMatchObject({ _tag: failure._tag })
      expectBalanced(error.report)
      expect(error.report.accepted.items).toBe(30)
      expect(error.report.rejected).toHaveLength(1)
      expect(double.calls()).toBe(4)
    }).pipe(Effect.provide(double.layer))
  })

  it("classifies a failure as unknown only when the request may have arrived", () => {
    const cases: Array<[VoucherifyError, boolean]> = [
      [new TransportError({ reason: "Transport", description: "ECONNRESET" }), true],
      [new TransportError({ reason: "Timeout", description: "slow" }), true],
      [new TransportError({ reason: "Redirect", description: "to elsewhere", status: 302 }), false],
      [new ServerError({ status: 500 }), true],
      [new ServerError({ status: 502 }), true],
      [new ServerError({ status: 504 }), true],
      [new ServerError({ status: 503 }), false],
      [badRequest, false],
      [new PayloadTooLargeError({ source: "server", status: 413, limit: 10 }), false],
      [new RateLimitError({ status: 429 }), false]
    ]
    for (const [error, unknown] of cases) expect([error._tag, mayHaveArrived(error)]).toEqual([error._tag, unknown])
  })

  it.effect("an invalid id stops the run with its offset before anything after it is sent", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const input = [...ids(25), "", ...ids(25, "q")]
      const error = yield* Effect.flip(
        BulkMetadata.run(input, { target: "products", metadata: {}, maxBytes: fitting(10, 7), concurrency: 1 })
      )
      expect(error.error).toMatchObject({ _tag: "InvalidRequestError", offset: 25 })
      expectBalanced(error.report)
      expect(error.report.accepted.items).toBe(20)
      expect(double.sent.flatMap((s) => s.ids)).toEqual(ids(20))
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("a failing input stream stops the run with its own error and a report", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const input = Stream.concat(Stream.fromIterable(ids(35)), Stream.fail("disk on fire" as const))
      const error = yield* Effect.flip(
        BulkMetadata.run(input, { target: "products", metadata: {}, maxBytes: fitting(10, 7) })
      )
      const cause: "disk on fire" | BulkRun.BulkRunError["error"] = error.error
      expect(cause).toBe("disk on fire")
      expectBalanced(error.report)
      expect(error.report.total).toBe(35)
      expect(error.report.failure).toBe("disk on fire")
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("interrupting the run still hands a balanced report to onReport", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let blocked = 0
      // calls 3 and 4 never answer; `started` once both are in flight
      const double = makeDouble((call) =>
        call < 3
          ? Effect.void
          : Effect.zipRight(Effect.suspend(() => ++blocked === 2 ? Deferred.succeed(started, void 0) : Effect.void), Effect.never)
      )
      const reported = yield* Deferred.make<BulkRun.Report>()
      const fiber = yield* BulkMetadata.run(ids(1000), {
        target: "vouchers",
        metadata: {},
        maxBytes: fitting(10, 7),
        concurrency: 2,
        onReport: (report) => Deferred.succeed(reported, report)
      }).pipe(Effect.provide(double.layer), Effect.fork)
      yield* Deferred.await(started)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      const report = yield* Deferred.await(reported)
      expectBalanced(report)
      expect(report.status).toBe("interrupted")
      expect(report.accepted.items).toBe(30)
      // the two requests in flight may have arrived
      expect(report.unknown.map((u) => u.chunkIndex)).toEqual([3, 4])
      expect(report.unknown.every((u) => u.error === undefined)).toBe(true)
      expect(report.total).toBeGreaterThan(50)
      expect(report.notAttempted[0]!.offset).toBe(50)
    }))

  it.effect("sends codes to the vouchers endpoint and source_ids elsewhere", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      yield* BulkMetadata.run(["C1", "C2"], { target: "vouchers", metadata: {} })
      yield* BulkMetadata.run(["c1"], { target: "customers", metadata: {} })
      expect(double.sent).toEqual([
        { target: "vouchers", ids: ["C1", "C2"], bytes: expect.any(Number) },
        { target: "customers", ids: ["c1"], bytes: expect.any(Number) }
      ])
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("refuses options that cannot work before reading anything", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const tooBig = yield* Effect.flip(
        BulkMetadata.run(Stream.never, { target: "products", metadata: {}, maxBytes: 2000 }).pipe(
          Effect.provide(makeDouble(undefined, 1000).layer)
        )
      )
      expect(tooBig.error).toMatchObject({
        _tag: "InvalidRequestError",
        path: "maxBytes",
        reason: "must be an integer from 1 to 1000, got 2000"
      })
      expect(tooBig.report).toMatchObject({ status: "failed", total: 0, chunks: 0 })
      const zero = yield* Effect.flip(
        BulkMetadata.run(Stream.never, { target: "products", metadata: {}, concurrency: 0 })
      )
      expect(zero.error).toMatchObject({ _tag: "InvalidRequestError", path: "concurrency" })
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("refuses a maxBytes no request could use, and sends nothing", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const huge = yield* Effect.flip(
        Stream.make("p1").pipe(BulkMetadata.chunk({ metadata: {}, maxBytes: 2 ** 33 }), Stream.runDrain)
      )
      expect(huge).toMatchObject({ _tag: "InvalidRequestError", path: "maxBytes" })
      expect(double.sent).toHaveLength(0)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("counts repeated ids dropped by dedupe in the chunks' ranges", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const report = yield* BulkMetadata.run([...ids(30), ...ids(30)], {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        dedupe: true
      })
      expectBalanced(report)
      expect(report.total).toBe(60)
      expect(report.accepted.items).toBe(60)
      expect(double.sent.flatMap((s) => s.ids).sort()).toEqual(ids(30))
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("reports progress to a callback, ending with the report's figures", () => {
    const double = makeDouble()
    return Effect.gen(function*() {
      const seen: Array<BulkRun.Progress> = []
      const report = yield* BulkMetadata.run(ids(100), {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        onProgress: (p) => seen.push(p)
      })
      const last = seen[seen.length - 1]!
      expect(last).toMatchObject({
        itemsRead: 100,
        chunksPacked: 10,
        chunksSent: 10,
        chunksAccepted: 10,
        itemsAccepted: 100,
        bytesSent: report.bytes
      })
      expect(seen.length).toBeGreaterThan(10)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("calls a progress function at each chunk's outcome, and between them at most once a second", () => {
    // each request takes 5 seconds of the test clock
    let calls = 0
    const double = makeDouble(() => Effect.zipRight(Effect.sync(() => calls++), Effect.sleep("5 seconds")))
    /** Lets the forked run go on, without moving the clock, until `done` (bounded: a test that cannot pass fails). */
    const until = (done: () => boolean) => Effect.repeat(Effect.yieldNow(), { until: done, times: 100_000 })
    return Effect.gen(function*() {
      const seen: Array<BulkRun.Progress> = []
      const fiber = yield* BulkMetadata.run(ids(10_000), {
        target: "products",
        metadata: {},
        maxBytes: fitting(1_000, 7),
        concurrency: 1,
        onProgress: (p) => seen.push(p)
      }).pipe(Effect.fork)
      // no time passed: the first chunk is sent, and the first step told only, not one call per id read or chunk packed
      yield* until(() => calls === 1)
      yield* Effect.yieldNow().pipe(Effect.repeatN(200))
      expect(seen).toHaveLength(1)
      // the chunk sent and the ids read since are told within a second
      yield* TestClock.adjust("1 second")
      yield* until(() => seen.length > 1)
      expect(seen).toHaveLength(2)
      expect(seen.at(-1)!.chunksSent).toBe(1)
      // then nothing new to tell until the answer
      yield* TestClock.adjust("3 seconds")
      yield* Effect.yieldNow().pipe(Effect.repeatN(200))
      expect(seen).toHaveLength(2)
      yield* TestClock.adjust("1 second")
      yield* until(() => seen.at(-1)!.chunksAccepted === 1)
      const report = yield* joinAdvancing(fiber)
      expect(report.accepted.items).toBe(10_000)
      // 10 chunks over 50 seconds: an outcome each, and about a step a second
      expect(seen.length).toBeLessThanOrEqual(10 + 50 + 2)
      expect(seen.at(-1)).toMatchObject({ itemsRead: 10_000, chunksAccepted: 10, itemsAccepted: 10_000 })
    }).pipe(Effect.provide(double.layer))
  })

  /** Thirty ids in three chunks, the second refused with `error`, the run going on. */
  const secondChunkRefused = (error: VoucherifyError, extra: Partial<BulkMetadata.RunOptions> = {}) => {
    const double = makeDouble((call) => call === 1 ? Effect.fail(error) : Effect.void)
    return BulkMetadata.run(ids(30), {
      target: "products",
      metadata: {},
      maxBytes: fitting(10, 7),
      concurrency: 1,
      onChunkError: "continue",
      ...extra
    }).pipe(Effect.provide(double.layer))
  }

  it.effect("the report survives a JSON round trip", () =>
    Effect.gen(function*() {
      const report = yield* secondChunkRefused(badRequest)
      const json = Schema.encodeSync(BulkRun.ReportFromJson)(report)
      expect(JSON.parse(json).rejected[0].error).toEqual({ _tag: "BadRequestError", status: 400, key: "invalid_payload" })
      expect(Schema.decodeSync(BulkRun.ReportFromJson)(json)).toEqual(report)
    }))

  it.effect("a report holding a rate limit's wait survives a JSON round trip too", () =>
    Effect.gen(function*() {
      // a wait past quota.maxWait stops the run; the report holds the error with its wait
      const { report } = yield* Effect.flip(secondChunkRefused(
        new RateLimitError({ status: 429, retryAfter: Duration.seconds(3600), limitType: "bulk_api_calls" }),
        { maxQuotaWait: "30 minutes" }
      ))
      const json = Schema.encodeSync(BulkRun.ReportFromJson)(report)
      const decoded = Schema.decodeSync(BulkRun.ReportFromJson)(json)
      expect(decoded).toEqual(report)
      const error = decoded.rejected[0]!.error
      expect(error._tag === "RateLimitError" && Duration.toSeconds(error.retryAfter!)).toBe(3600)
    }))
})

describe("BulkMetadata and the bulk quota (TestClock)", () => {
  const quotaRefusal = (wait: Duration.DurationInput) =>
    new RateLimitError({ status: 429, retryAfter: Duration.decode(wait), limitType: "bulk_api_calls", remaining: 0 })
  const tenMinutes = Duration.toMillis("10 minutes")

  it.effect("a refusal pauses the whole run once, then the refused chunk goes again", () => {
    // call 1 is refused for 10 minutes; with 2 in flight, call 0 may still be accepted
    const double = makeDouble((call) => call === 1 ? Effect.fail(quotaRefusal("10 minutes")) : Effect.void)
    return Effect.gen(function*() {
      const seen: Array<BulkRun.Progress> = []
      const fiber = yield* BulkMetadata.run(ids(60), {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        concurrency: 2,
        onProgress: (p) => seen.push(p)
      }).pipe(Effect.fork)
      // until the refusal came back and closed the gate
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => seen.at(-1)?.waitingForQuotaUntil !== undefined }))
      yield* TestClock.adjust("9 minutes")
      // no call during the wait: only those made before the refusal came back (2 in flight, and
      // the next one started when call 0 was accepted first)
      expect(double.calledAt.every((at) => at === 0)).toBe(true)
      expect(double.calledAt.length).toBeLessThanOrEqual(3)
      const beforeTheWait = double.calledAt.length
      const waiting = seen.at(-1)!
      expect(waiting.waitingForQuotaUntil).toBe(tenMinutes)
      expect(waiting.quotaRefusals).toBe(1)
      yield* TestClock.adjust("1 minute")
      const report = yield* Fiber.join(fiber)
      expectBalanced(report)
      expect(report.status).toBe("completed")
      expect(report.accepted.items).toBe(60)
      // every later call came after the wait, the refused chunk among them
      expect(double.calledAt.slice(beforeTheWait).every((at) => at >= tenMinutes)).toBe(true)
      expect(double.calls()).toBe(7)
      expect(double.sent.flatMap((s) => s.ids)).toHaveLength(60)
      expect(seen.at(-1)!.waitingForQuotaUntil).toBeUndefined()
      expect(seen.at(-1)!.chunksSent).toBe(6)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("an accepted call that says no bulk call is left holds the next one until X-Rate-Limit-Retry", () => {
    const double = makeDouble((call) =>
      Effect.map(Clock.currentTimeMillis, (now): RateLimitHeaders | void =>
        call === 1 ? { limitType: "bulk_api_calls", limit: 2, remaining: 0, retryAt: now + tenMinutes } : undefined
      )
    )
    return Effect.gen(function*() {
      const fiber = yield* BulkMetadata.run(ids(40), {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        concurrency: 1
      }).pipe(Effect.fork)
      // the first two calls go at once; the second's answer says none is left
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => double.calls() >= 2 }))
      yield* TestClock.adjust("5 minutes")
      expect(double.calls()).toBe(2)
      yield* TestClock.adjust("5 minutes")
      const report = yield* Fiber.join(fiber)
      expect(report.accepted.items).toBe(40)
      expect(double.calledAt).toEqual([0, 0, tenMinutes, tenMinutes])
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("a wait past quota.maxWait, or any wait with maxWait 0, stops the run with the RateLimitError", () =>
    Effect.gen(function*() {
      for (const [wait, maxWait] of [["2 hours", undefined], ["1 second", 0]] as const) {
        const double = makeDouble((call) => call === 1 ? Effect.fail(quotaRefusal(wait)) : Effect.void)
        const failure = yield* Effect.flip(
          BulkMetadata.run(ids(30), {
            target: "products",
            metadata: {},
            maxBytes: fitting(10, 7),
            concurrency: 1,
            // even with continue: every later chunk would wait as long
            onChunkError: "continue",
            ...(maxWait !== undefined ? { maxQuotaWait: maxWait } : {})
          }).pipe(Effect.provide(double.layer))
        )
        expect(failure.error).toMatchObject({ _tag: "RateLimitError", limitType: "bulk_api_calls" })
        expectBalanced(failure.report)
        expect(failure.report.rejected.map((r) => r.chunkIndex)).toEqual([1])
        expect(failure.report.notAttempted).toEqual([{ offset: 20, count: 10 }])
        expect(double.calls()).toBe(2)
      }
    }))

  it.effect("api_calls_cycle still stops at once, without waiting", () => {
    const cycle = new RateLimitError({ status: 429, retryAfter: Duration.days(10), limitType: "api_calls_cycle" })
    const double = makeDouble((call) => call === 0 ? Effect.fail(cycle) : Effect.void)
    return Effect.gen(function*() {
      const failure = yield* Effect.flip(
        BulkMetadata.run(ids(20), { target: "products", metadata: {}, maxBytes: fitting(10, 7), concurrency: 1 })
      )
      expect(failure.error).toMatchObject({ limitType: "api_calls_cycle" })
      expect(double.calls()).toBe(1)
    }).pipe(Effect.provide(double.layer))
  })

  it.effect("interrupted during a wait: the waiting chunk stands rejected in the report", () => {
    const double = makeDouble((call) => call === 0 ? Effect.fail(quotaRefusal("30 minutes")) : Effect.void)
    return Effect.gen(function*() {
      const reports: Array<BulkRun.Report> = []
      const fiber = yield* BulkMetadata.run(ids(20), {
        target: "products",
        metadata: {},
        maxBytes: fitting(10, 7),
        concurrency: 1,
        onReport: (report) => Effect.sync(() => reports.push(report))
      }).pipe(Effect.fork)
      // until the first call was refused, then a minute into its wait
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => double.calls() >= 1 }))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.interrupt(fiber)
      const [report] = reports
      expect(report!.status).toBe("interrupted")
      expectBalanced(report!)
      expect(report!.rejected).toMatchObject([{ chunkIndex: 0, error: { _tag: "RateLimitError" } }])
      expect(report!.accepted.items).toBe(0)
    }).pipe(Effect.provide(double.layer))
  })
})

describe("BulkMetadata await with VoucherifyTest", () => {
  it.effect("packs to the limit the service carries: VoucherifyTest.layer({ maxPayloadBytes: 2000 }) alone", () =>
    Effect.gen(function*() {
      const state = yield* VoucherifyTest.VoucherifyTestState
      // run is dual: the pipeable form here
      const report = yield* Stream.fromIterable(ids(1000)).pipe(
        BulkMetadata.run({ target: "products", metadata: { origin: "PL" } })
      )
      expectBalanced(report)
      expect(report.accepted.items).toBe(1000)
      const bulkCalls = (yield* state.calls).filter((call) => call.method === "sendEncodedBulkRequest")
      expect(bulkCalls.length).toBeGreaterThan(1)
      for (const call of bulkCalls) {
        expect(call.outcome).toBe("success")
        expect(call.bytes).toBeLessThanOrEqual(2000)
      }
      // full bodies: every one but the last within one id of the limit
      for (const call of bulkCalls.slice(0, -1)) expect(call.bytes).toBeGreaterThan(2000 - 8)
    }).pipe(Effect.provide(VoucherifyTest.layer({ maxPayloadBytes: 2000 }))))

  it.effect("follows every action to DONE on the TestClock, and reports a FAILED one", () =>
    Effect.gen(function*() {
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ActionFailed" }, method: "POST", first: 1 }] })
      const fiber = yield* BulkMetadata.run(ids(40), {
        target: "products",
        metadata: { origin: "PL" },
        maxBytes: fitting(10, 7),
        await: { schedule: Schedule.spaced("1 second") }
      }).pipe(Effect.fork)
      const report = yield* joinAdvancing(fiber)
      expectBalanced(report)
      const statuses = report.accepted.actions.map((a) => a.status)
      expect(statuses.length).toBe(report.chunks)
      expect(statuses).toEqual(["FAILED", ...Array(report.chunks - 1).fill("DONE")])
      expect(yield* state.metadata("products", "p0039")).toEqual(Option.some({ origin: "PL" }))
      expect(yield* state.metadata("products", "p0000")).toEqual(Option.none())
    }).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "2 seconds" }))))

  it.effect("stops following after the await timeout and says so", () =>
    Effect.gen(function*() {
      const fiber = yield* BulkMetadata.run(ids(5), {
        target: "products",
        metadata: {},
        await: { schedule: Schedule.spaced("1 second"), timeout: "3 seconds" }
      }).pipe(Effect.fork)
      const [action] = (yield* joinAdvancing(fiber)).accepted.actions
      expect(action).toMatchObject({ status: "IN_PROGRESS" })
      expect(action!.awaitError).toMatch(/Stopped waiting/)
    }).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "1 minute" }))))
})

describe("BulkMetadata with a journal", () => {
  const runWith = (
    input: ReadonlyArray<string>,
    journal: { readonly journal: BulkJournal.Journal; readonly resume?: boolean; readonly source?: BulkJournal.InputDescription },
    extra: Partial<BulkMetadata.RunOptions> = {}
  ) => BulkMetadata.run(input, { target: "products", metadata: {}, maxBytes: fitting(10, 7), ...journal, ...extra })
  const lines = (text: string) => text.trim().split("\n").map((line) => JSON.parse(line))

  it.effect("records the run and every accepted chunk; a resume of a finished run sends nothing", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      const first = makeDouble()
      const report = yield* runWith(ids(45), { journal }).pipe(Effect.provide(first.layer))
      expect(report.accepted.items).toBe(45)
      const written = lines(yield* journal.text)
      expect(written[0]).toMatchObject({ type: "run", target: "products", field: "source_ids", maxBytes: fitting(10, 7) })
      // the metadata's hash, never its values
      expect(written[0].metadataSha256).toMatch(/^[0-9a-f]{64}$/)
      // two in flight: their lines come in the order the answers did
      const accepted = written.filter((line) => line.type === "chunk_accepted").sort((a, b) => a.index - b.index)
      expect(accepted.map((line) => [line.index, line.offset, line.count, line.asyncActionId])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [i, i * 10, i === 4 ? 5 : 10, expect.stringMatching(/^aa_/)])
      )

      const second = makeDouble()
      const seen: Array<BulkRun.Progress> = []
      const resumed = yield* runWith(ids(45), { journal, resume: true }, { onProgress: (p) => seen.push(p) }).pipe(
        Effect.provide(second.layer)
      )
      expect(second.calls()).toBe(0)
      expectBalanced(resumed)
      expect(resumed.accepted.items).toBe(45)
      expect(resumed.accepted.actions.map((a) => a.asyncActionId)).toEqual(accepted.map((line) => line.asyncActionId))
      expect(seen.at(-1)).toMatchObject({ chunksFromJournal: 5, chunksSent: 0, chunksAccepted: 5 })
    }))

  it.effect("a resume sends exactly the chunks that were not accepted", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      const first = makeDouble((call) => call === 2 ? Effect.fail(badRequest) : Effect.void)
      const report = yield* runWith(ids(50), { journal }, { onChunkError: "continue", concurrency: 1 }).pipe(
        Effect.provide(first.layer)
      )
      expect(report.rejected.map((r) => r.chunkIndex)).toEqual([2])
      const second = makeDouble()
      const resumed = yield* runWith(ids(50), { journal, resume: true }).pipe(Effect.provide(second.layer))
      expect(second.sent.map((s) => s.ids)).toEqual([ids(50).slice(20, 30)])
      expect(resumed.accepted.items).toBe(50)
      expect(resumed.rejected).toEqual([])
    }))

  it.effect("refuses a resume with other metadata, other ids or other maxBytes before sending anything", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      yield* runWith(ids(30), { journal }).pipe(Effect.provide(makeDouble().layer))
      const cases: Array<[ReadonlyArray<string>, Partial<BulkMetadata.RunOptions>, string, number | undefined]> = [
        [ids(30), { metadata: { m: 2 } }, "metadataSha256", undefined],
        [ids(30), { maxBytes: fitting(10, 7) + 1 }, "maxBytes", undefined],
        [[...ids(10), "pXXXX", ...ids(30).slice(11)], {}, "sha256", 1],
        [ids(20), {}, "chunks", undefined]
      ]
      // the first chunk changed, the later ones not: with two in flight, none may go before the check of the first
      cases.push([["pXXXX", ...ids(30).slice(1)], {}, "sha256", 0])
      for (const [input, extra, field, chunk] of cases) {
        for (const concurrency of [1, 2]) {
          const double = makeDouble()
          const failure = yield* Effect.flip(
            runWith(input, { journal, resume: true }, { ...extra, concurrency }).pipe(Effect.provide(double.layer))
          )
          expect(failure.error, field).toMatchObject({ _tag: "JournalMismatchError", field, ...(chunk !== undefined ? { chunk } : {}) })
          expect(double.calls(), `${field}, ${concurrency} in flight`).toBe(0)
        }
      }
    }))

  it.effect("a resume with await follows the accepted actions that had not ended, and records their end", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      const state = yield* VoucherifyTest.VoucherifyTestState
      // sent, not awaited: the actions are still running when this "process" stops
      yield* runWith(ids(30), { journal })
      const awaited = { schedule: Schedule.spaced("1 second") }
      const fiber = yield* runWith(ids(30), { journal, resume: true }, { await: awaited }).pipe(Effect.fork)
      const report = yield* joinAdvancing(fiber)
      expect(report.accepted.actions.map((a) => a.status)).toEqual(["DONE", "DONE", "DONE"])
      expect(report.journal).toEqual({ chunksHeld: 3, chunksSent: 0 })
      expect(lines(yield* journal.text).filter((line) => line.type === "action_finished")).toHaveLength(3)
      // once more: the journal knows how they ended, so nothing is polled
      const polls = (yield* state.calls).filter((call) => call.method === "getAsyncAction").length
      const again = yield* runWith(ids(30), { journal, resume: true }, { await: awaited })
      expect(again.accepted.actions.map((a) => a.status)).toEqual(["DONE", "DONE", "DONE"])
      expect((yield* state.calls).filter((call) => call.method === "getAsyncAction").length).toBe(polls)
      expect((yield* state.calls).filter((call) => call.method === "sendEncodedBulkRequest")).toHaveLength(3)
    }).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "5 seconds" }))))

  it.effect("metadata that is not JSON fails as InvalidRequestError and leaves no journal behind", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      for (const metadata of [{ big: 1n }, { gone: undefined }]) {
        const failure = yield* Effect.flip(
          runWith(ids(10), { journal }, { metadata }).pipe(Effect.provide(makeDouble().layer))
        )
        expect(failure.error).toMatchObject({ _tag: "InvalidRequestError" })
      }
      expect(yield* journal.text).toBe("")
    }))

  it.effect("an acceptance that cannot be written stops the run; the report still counts it accepted", () =>
    Effect.gen(function*() {
      const memory = yield* BulkJournal.memory()
      const broken: BulkJournal.Journal = {
        ...memory,
        start: (run) =>
          Effect.map(memory.start(run), (writer) => ({
            ...writer,
            settled: (facts, outcome) =>
              outcome._tag === "Accepted"
                ? Effect.fail(
                  new BulkJournal.JournalIoError({ path: "memory", operation: "sync", reason: "Unknown", description: "disk full" })
                )
                : writer.settled(facts, outcome)
          }))
      }
      const double = makeDouble()
      const failure = yield* Effect.flip(runWith(ids(30), { journal: broken }, { concurrency: 1 }).pipe(Effect.provide(double.layer)))
      expect(failure.error).toMatchObject({ _tag: "JournalIoError", operation: "sync" })
      expectBalanced(failure.report)
      expect(failure.report.accepted.items).toBe(10)
      expect(double.calls()).toBe(1)
    }))
})
