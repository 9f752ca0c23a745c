/**
 * Benchmark 7: waiting out the bulk quota. 40 bulk calls against the mock
 * server with a quota of 8 calls per 2-second window: the floor is the
 * windows that must pass, `(windows - 1) × window`; targets: wall within 10%
 * of it, and at most one refused call per window.
 */
import * as Effect from "effect/Effect"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import type { Result } from "./measure.js"

const calls = 40
const perWindow = 8
const windowMs = 2_000
const idsPerCall = 100

export const run = async (): Promise<Result> => {
  const ids = Array.from({ length: calls * idsPerCall }, (_, i) => `prod_${String(i).padStart(10, "0")}`)
  // 17 bytes an id with its comma, and the frame around them
  const maxBytes = Buffer.byteLength(JSON.stringify({ source_ids: ids.slice(0, idsPerCall), metadata: { q: 1 } }))
  const program = Effect.gen(function*() {
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    // start on a window's edge, so that the first window is a whole one, as the floor counts it
    yield* Effect.sleep(windowMs - (Date.now() % windowMs))
    const started = performance.now()
    const report = yield* BulkMetadata.run(ids, { target: "products", metadata: { q: 1 }, maxBytes, concurrency: 2 })
    const wallMs = performance.now() - started
    const bulk = (yield* server.requests).filter((r) => r.url.endsWith("/metadata/async"))
    return { report, wallMs, refused: bulk.filter((r) => r.status === 429).length }
  }).pipe(
    Effect.provide(MockVoucherifyServer.layerTest({
      rateLimits: { bulkQuota: { calls: perWindow, window: `${windowMs} millis` } }
    }))
  )
  const { refused, report, wallMs } = await Effect.runPromise(program)
  const windows = Math.ceil(report.chunks / perWindow)
  const floorMs = (windows - 1) * windowMs
  const ratio = wallMs / floorMs
  return {
    name: `7. bulk quota: ${report.chunks} calls, ${perWindow} per ${windowMs / 1000} s window`,
    baselineMs: floorMs,
    subjectMs: wallMs,
    ratio,
    target: 1.1,
    pass: report.accepted.items === ids.length && report.chunks === calls && ratio <= 1.1 && refused <= windows,
    notes: [
      `${windows} windows: floor ${(floorMs / 1000).toFixed(1)} s, wall ${(wallMs / 1000).toFixed(2)} s`,
      `${refused} refused calls (target at most ${windows}, one per window), every id accepted: ${
        report.accepted.items === ids.length
      }`
    ]
  }
}
