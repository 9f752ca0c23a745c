/**
 * The bulk engine over real HTTP, against the loopback MockVoucherifyServer:
 * the wire, the faults and the server's store are real; the time is real too,
 * kept short by a small timeout and short retry delays.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRun from "../src/BulkRun.js"
import { emptyProgress } from "../src/internal/bulk/report.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import type { Metadata } from "../src/VoucherifySchema.js"
import { expectBalanced } from "./support/report.js"

const { MockVoucherifyServer: Server } = MockVoucherifyServer

const productIds = (n: number) => Array.from({ length: n }, (_, i) => `prod_${String(i + 1).padStart(10, "0")}`)

/** Short real-time settings: a fault costs milliseconds, not the default seconds. */
const fastClient: MockVoucherifyServer.ClientOptions = {
  timeout: "400 millis",
  retry: { maxRetries: 12, baseDelay: "5 millis", maxDelay: "40 millis", maxRetryAfter: "5 seconds" }
}

const transport = NodeHttpClient.layerUndici

const serverAndClient = (
  server: MockVoucherifyServer.Options,
  client: MockVoucherifyServer.ClientOptions = fastClient,
  http: Layer.Layer<HttpClient.HttpClient> = transport
) =>
  MockVoucherifyServer.layerTest({ ...server, client, httpClient: http })

/** Every id of the accepted chunks carries the metadata in the server's store. */
const expectAcceptedStored = (report: BulkRun.Report, ids: ReadonlyArray<string>, metadata: Metadata) =>
  Effect.gen(function*() {
    const server = yield* Server
    for (const action of report.accepted.actions) {
      const check = yield* server.checkMetadata("products", ids.slice(action.offset, action.offset + action.count), metadata)
      expect(check).toMatchObject({ missing: 0, mismatched: 0 })
    }
  })

const maxBytes = 40_000

/** Actions run on the server after the 202: follow them so that the store is settled when checked. */
const settle = { schedule: Schedule.spaced("20 millis") }

const bulkPath = /\/metadata\/async$/

describe("BulkMetadata against MockVoucherifyServer", () => {
  it.live("updates 20,000 products with full bodies and follows every action to DONE", () =>
    Effect.gen(function*() {
      const ids = productIds(20_000)
      const metadata = { season: "summer", imported: true }
      const report = yield* BulkMetadata.run(ids, {
        target: "products",
        metadata,
        maxBytes,
        await: settle
      })
      expectBalanced(report)
      expect(report).toMatchObject({ status: "completed", total: 20_000, accepted: { items: 20_000 } })
      expect(report.accepted.actions.every((a) => a.status === "DONE")).toBe(true)
      // 17 bytes an id with its comma: the fewest bodies that can hold them all
      const room = maxBytes - Buffer.byteLength(JSON.stringify({ source_ids: [], metadata })) + 1
      expect(report.chunks).toBe(Math.ceil((20_000 * 18) / room))
      const server = yield* Server
      expect(yield* server.checkMetadata("products", ids, metadata)).toMatchObject({
        checked: 20_000,
        missing: 0,
        mismatched: 0
      })
      expect(yield* server.count("products")).toBe(20_000)
    }).pipe(Effect.provide(serverAndClient({}))))

  it.live("with 5xx, 429, resets and slow answers every id is still updated and no body is over the limit", () =>
    Effect.gen(function*() {
      const ids = productIds(60_000)
      const metadata = { batch: 7 }
      const report = yield* BulkMetadata.run(ids, {
        target: "products",
        metadata,
        maxBytes: 60_000,
        concurrency: 3,
        await: settle
      })
      expectBalanced(report)
      expect(report).toMatchObject({ status: "completed", accepted: { items: 60_000 }, rejected: [], unknown: [] })
      const server = yield* Server
      expect(yield* server.checkMetadata("products", ids, metadata)).toMatchObject({ missing: 0, mismatched: 0 })
      const requests = (yield* server.requests).filter((r) => r.url.endsWith("/metadata/async"))
      expect(Math.max(...requests.map((r) => r.bodyBytes))).toBeLessThanOrEqual(60_000)
      // bodyBytes is 0 when an early fault answered before the body was read: the declared size covers those
      for (const request of requests) {
        expect(request.method).toBe("POST")
        expect(Number(request.headers["content-length"]), `request ${request.seq}`).toBeLessThanOrEqual(60_000)
      }
      // the faults really happened: the k-th bulk POST draws the same faults every run (seed 42), and the
      // 18 chunks plus one retry per fault take about 30 POSTs, enough for every kind to come up
      const faults = new Set(requests.map((r) => r.fault))
      for (const fault of ["ServerError", "RateLimited", "Delay", "ResetBeforeBody", "ResetAfterProcessing"]) {
        expect(faults).toContain(fault)
      }
    }).pipe(
      Effect.provide(serverAndClient({
        faults: {
          seed: 42,
          rules: [
            { fault: { _tag: "ServerError", status: 503 }, rate: 0.1, path: bulkPath },
            { fault: { _tag: "ServerError", status: 502 }, rate: 0.1, path: bulkPath },
            { fault: { _tag: "RateLimited", retryAfter: "1 second", limitType: "bulk_api_calls" }, rate: 0.1, path: bulkPath },
            { fault: { _tag: "ResetBeforeBody" }, rate: 0.025, path: bulkPath },
            { fault: { _tag: "ResetAfterProcessing" }, rate: 0.025, path: bulkPath },
            { fault: { _tag: "Delay", duration: "1 second" }, rate: 0.05, path: bulkPath }
          ]
        }
      }))
    ), { timeout: 60_000 })

  it.live("a run of more bulk calls than one quota window allows waits the windows out, and every id lands", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const ids = productIds(1_000)
      const metadata = { quota: "waited" }
      const seen: Array<BulkRun.Progress> = []
      // 17 bytes an id: about 200 ids a body, 5 or 6 bodies, 2 calls a window of 1 second: three
      // windows at least, so that a wait happens wherever the run starts in its window (with 3 a
      // window, a run that began just before a window's end could send its 6 calls in two windows
      // and never wait)
      const report = yield* BulkMetadata.run(ids, {
        target: "products",
        metadata,
        maxBytes: 200 * 17 + 40,
        await: settle,
        onProgress: (p) => seen.push(p)
      })
      expectBalanced(report)
      expect(report).toMatchObject({ status: "completed", accepted: { items: 1_000 } })
      expect(report.chunks).toBeGreaterThanOrEqual(5)
      yield* expectAcceptedStored(report, ids, metadata)
      const bulk = (yield* server.requests).filter((r) => bulkPath.test(r.url))
      const refused = bulk.filter((r) => r.status === 429)
      expect(bulk.length - refused.length).toBe(report.chunks)
      // a window was waited out (how many calls were refused on the way depends on the wall clock:
      // that no call goes during a wait is the TestClock suite's to show)
      expect(seen.some((p) => p.waitingForQuotaUntil !== undefined)).toBe(true)
      expect(seen.at(-1)!.quotaRefusals).toBe(refused.length)
    }).pipe(Effect.provide(serverAndClient({ rateLimits: { bulkQuota: { calls: 2, window: "1 second" } } }))), {
    timeout: 30_000
  })

  it.live("a 401 in the middle stops the run; the report shows what was accepted", () =>
    Effect.gen(function*() {
      const ids = productIds(20_000)
      const metadata = { checked: "yes" }
      const error = yield* Effect.flip(
        BulkMetadata.run(ids, {
          target: "products",
          metadata,
          maxBytes: 30_000,
          concurrency: 1,
          onChunkError: "continue",
          await: settle
        })
      )
      expect(error.error).toMatchObject({ _tag: "UnauthorizedError", status: 401 })
      const report = error.report
      expectBalanced(report)
      expect(report.accepted.chunks).toBe(3)
      expect(report.rejected).toMatchObject([{ chunkIndex: 3, error: { _tag: "UnauthorizedError" } }])
      yield* expectAcceptedStored(report, ids, metadata)
      const server = yield* Server
      const rest = report.notAttempted.flatMap((r) => ids.slice(r.offset, r.offset + r.count))
      expect(rest.length).toBeGreaterThan(0)
      expect((yield* server.checkMetadata("products", rest, metadata)).missing).toBe(rest.length)
    }).pipe(Effect.provide(serverAndClient({}, fastClient, revokedAfter(3)))))

  it.live("onChunkError continue reports a refused chunk and finishes the rest", () =>
    Effect.gen(function*() {
      const ids = productIds(20_000)
      const report = yield* BulkMetadata.run(ids, {
        target: "products",
        metadata: { ok: true },
        maxBytes: 30_000,
        onChunkError: "continue",
        await: settle
      })
      expectBalanced(report)
      expect(report.status).toBe("completed")
      expect(report.rejected).toMatchObject([{ error: { _tag: "TransportError", reason: "Redirect" } }])
      expect(report.accepted.chunks).toBe(report.chunks - 1)
      yield* expectAcceptedStored(report, ids, { ok: true })
    }).pipe(
      Effect.provide(serverAndClient({
        faults: { rules: [{ fault: { _tag: "Redirect" }, first: 1, path: "/v1/products/metadata/async" }] }
      }))
    ))

  it.live("interrupting the run mid-way hands a balanced report to onReport", () =>
    Effect.gen(function*() {
      const ids = productIds(50_000)
      const progress = yield* SubscriptionRef.make<BulkRun.Progress>(emptyProgress("ids"))
      const reported = yield* Deferred.make<BulkRun.Report>()
      const fiber = yield* BulkMetadata.run(ids, {
        target: "products",
        metadata: { partial: true },
        maxBytes: 30_000,
        await: settle,
        onProgress: progress,
        onReport: (report) => Deferred.succeed(reported, report)
      }).pipe(Effect.fork)
      yield* progress.changes.pipe(Stream.takeUntil((p) => p.actionsCompleted >= 3), Stream.runDrain)
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      const report = yield* Deferred.await(reported)
      expectBalanced(report)
      expect(report.status).toBe("interrupted")
      expect(report.accepted.chunks).toBeGreaterThanOrEqual(3)
      expect(report.notAttempted.length).toBeGreaterThan(0)
      yield* expectAcceptedStored(report, ids, { partial: true })
    }).pipe(
      Effect.provide(serverAndClient(
        { faults: { rules: [{ fault: { _tag: "Delay", duration: "50 millis" } }] } },
        { ...fastClient, timeout: "5 seconds" }
      ))
    ))
})

/** The real transport, but bulk requests after the first `n` carry a revoked token: the server answers 401. */
function revokedAfter(n: number): Layer.Layer<HttpClient.HttpClient> {
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) => {
      let sent = 0
      return HttpClient.mapRequest(client, (request) =>
        request.url.endsWith("/metadata/async") && ++sent > n
          ? HttpClientRequest.setHeader(request, "x-app-token", "revoked")
          : request)
    })
  ).pipe(Layer.provide(transport))
}
