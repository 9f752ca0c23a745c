/**
 * Per-record runs over real HTTP, against the loopback MockVoucherifyServer:
 * the bodies are taken off the client's transport as they leave, so that
 * each record can be followed from its input line to the wire and into the
 * server's store.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BulkJournal from "../src/BulkJournal.js"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRun from "../src/BulkRun.js"
import * as BulkRecords from "../src/BulkRecords.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as Voucherify from "../src/Voucherify.js"
import { UnauthorizedError } from "../src/VoucherifyError.js"
import type { BulkTarget } from "../src/VoucherifySchema.js"
import { expectBalanced } from "./support/report.js"

const { MockVoucherifyServer: Server } = MockVoucherifyServer

/** The bodies the client sends to a per-record endpoint, copied as they leave (the engine reuses its buffers). */
const capturing = () => {
  const bodies: Array<{ readonly path: string; readonly body: Buffer }> = []
  const layer = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => {
          if (request.body._tag === "Uint8Array" && request.url.endsWith("/bulk/async")) {
            bodies.push({ path: new URL(request.url).pathname, body: Buffer.from(request.body.body) })
          }
        })))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  return { bodies, layer }
}

const fastClient: MockVoucherifyServer.ClientOptions = {
  timeout: "2 seconds",
  retry: { maxRetries: 8, baseDelay: "5 millis", maxDelay: "40 millis", maxRetryAfter: "5 seconds" }
}

const settle = { schedule: Schedule.spaced("20 millis") }

const bytesOf = (text: string) => Stream.make(new TextEncoder().encode(text))

const tiers = ["gold", "silver", "bronze", "Złoty", "金"]

/** A record of each target, each with its own values: two to four metadata keys, some non-ASCII. */
const recordOf = (target: BulkTarget, i: number): Record<string, unknown> => {
  const metadata: Record<string, unknown> = { tier: tiers[i % tiers.length], weight: (i % 97) + 0.25 }
  if (i % 2 === 0) metadata["city"] = i % 4 === 0 ? "Zürich" : "Kraków \"Stare Miasto\""
  if (i % 3 === 0) metadata["tags"] = ["a", { nested: i }]
  switch (target) {
    case "products":
      return { source_id: `sku-${i}`, name: `Product ${i} ✓`, price: i * 7, attributes: ["color"], metadata }
    case "customers":
      return {
        source_id: `cust-${i}`,
        email: `c${i}@example.com`,
        birthdate: "1990-02-28",
        address: i % 5 === 0 ? null : { city: "Łódź", postal_code: `9${i}` },
        metadata
      }
    case "vouchers":
      return { code: `CODE-${i}`, metadata }
  }
}

const idOf = (record: Record<string, unknown>) => (record["source_id"] ?? record["code"]) as string

describe("BulkRecords.run against MockVoucherifyServer", () => {
  for (const target of ["products", "customers", "vouchers"] as const) {
    it.live(`${target}: every record arrives exactly once, as its line says, in bodies within the limit, and is stored`, () => {
      const n = 600
      const records = Array.from({ length: n }, (_, i) => recordOf(target, i))
      const codes = target === "vouchers" ? records.map(idOf) : []
      const wire = capturing()
      const maxBytes = 4_000
      return Effect.gen(function*() {
        const server = yield* Server
        // a blank line and CRLF endings on the way: they are not records
        const text = records.map((r) => JSON.stringify(r)).join("\r\n").replace("\r\n", "\r\n\n")
        const report = yield* BulkRecords.run(BulkRecords.ndjson(bytesOf(`${text}\n`)), {
          target,
          maxBytes,
          concurrency: 3,
          await: settle
        })
        expectBalanced(report)
        expect(report).toMatchObject({ status: "completed", total: n, accepted: { items: n } })
        expect(report.accepted.actions.every((a) => a.status === "DONE" && a.done !== undefined)).toBe(true)

        // on the wire: every body a JSON array of records, within the limit, to the target's endpoint
        expect(new Set(wire.bodies.map((b) => b.path))).toEqual(new Set([`/v1/${target}/bulk/async`]))
        expect(wire.bodies.length).toBe(report.chunks)
        expect(Math.max(...wire.bodies.map((b) => b.body.byteLength))).toBeLessThanOrEqual(maxBytes)
        const sent = wire.bodies.flatMap((b) => JSON.parse(b.body.toString("utf8")) as Array<Record<string, unknown>>)
        expect(sent).toEqual(records)
        // greedy and exact: the next record would not have fitted in any body but the last
        const sizes = records.map((r) => Buffer.byteLength(JSON.stringify(r)))
        let at = 0
        for (const { body } of wire.bodies.slice(0, -1)) {
          const count = (JSON.parse(body.toString("utf8")) as Array<unknown>).length
          at += count
          expect(body.byteLength + 1 + sizes[at]!).toBeGreaterThan(maxBytes)
        }

        // the server ran *.BULK_UPDATE actions and holds every record's values
        const actions = yield* server.asyncActions
        expect(new Set(actions.map((a) => a.type))).toEqual(new Set([`${target.toUpperCase()}.BULK_UPDATE`]))
        for (const record of records) {
          const { metadata, ...fields } = record
          const id = idOf(record)
          const stored = Option.getOrThrow(yield* server.getRecord(target, id))
          expect(stored.metadata).toEqual(metadata)
          const { source_id: _, code: __, ...rest } = fields
          expect(stored.fields).toEqual(rest)
        }
      }).pipe(
        Effect.provide(MockVoucherifyServer.layerTest({
          records: { vouchers: codes },
          client: fastClient,
          httpClient: wire.layer
        }))
      )
    })
  }

  it.live("a CSV with declared types: numbers, booleans and JSON as declared, 00123 a string, empty cells left out", () => {
    const wire = capturing()
    return Effect.gen(function*() {
      const csv = [
        "sku,tier,weight,active,tags,zip",
        "sku-1,gold,12.5,true,\"[\"\"a\"\",1]\",00123",
        "sku-2,,0.75,FALSE,,",
        "sku-3,\"silver, old\",-3e2,false,\"{\"\"k\"\":null}\",007"
      ].join("\n")
      const report = yield* BulkRecords.run(
        BulkRecords.csv(bytesOf(csv), {
          idColumn: "sku",
          types: { weight: "number", active: "boolean", tags: "json" }
        }),
        { target: "products", await: settle }
      )
      expect(report).toMatchObject({ status: "completed", total: 3 })
      const sent = JSON.parse(wire.bodies[0]!.body.toString("utf8"))
      expect(sent).toEqual([
        { source_id: "sku-1", metadata: { tier: "gold", weight: 12.5, active: true, tags: ["a", 1], zip: "00123" } },
        { source_id: "sku-2", metadata: { weight: 0.75, active: false } },
        { source_id: "sku-3", metadata: { tier: "silver, old", weight: -300, active: false, tags: { k: null }, zip: "007" } }
      ])
      const server = yield* Server
      expect(Option.getOrThrow(yield* server.getMetadata("products", "sku-1"))).toEqual(sent[0].metadata)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ client: fastClient, httpClient: wire.layer })))
  })

  it.live("names the records the upsert created and the codes that name no voucher, from the report files", () =>
    Effect.gen(function*() {
      const created: Array<string> = []
      const products = yield* BulkRecords.run(
        Array.from({ length: 40 }, (_, i) => ({ source_id: `p${i}`, metadata: { n: i } })),
        { target: "products", maxBytes: 400, onCreated: (ids) => Effect.sync(() => created.push(...ids)) }
      )
      expect(created.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `p${i + 20}`).sort())
      expect(products.reconciliation).toMatchObject({ created: 20, updated: 20, notUpdated: 0, unread: [] })

      const unknown: Array<string> = []
      const vouchers = yield* BulkRecords.run(
        Stream.make({ code: "V1", metadata: { a: 1 } }, { code: "NOPE", metadata: { a: 2 } }),
        { target: "vouchers", onNotUpdated: (codes) => Effect.sync(() => unknown.push(...codes)) }
      )
      expect(unknown).toEqual(["NOPE"])
      expect(vouchers.reconciliation).toMatchObject({ created: 0, updated: 1, notUpdated: 1 })
      expect(vouchers.accepted.actions[0]).toMatchObject({ status: "DONE", done: 1, failed: 1 })
    }).pipe(
      Effect.provide(MockVoucherifyServer.layerTest({
        records: { products: Array.from({ length: 20 }, (_, i) => `p${i}`), vouchers: ["V1"] },
        client: fastClient
      }))
    ))

  it.live("waits out the bulk quota's window and sends the refused body again", () =>
    Effect.gen(function*() {
      const records = Array.from({ length: 24 }, (_, i) => ({ source_id: `q${i}`, metadata: { i } }))
      let waited = false
      const report = yield* BulkRecords.run(records, {
        target: "products",
        maxBytes: 200,
        concurrency: 2,
        onProgress: (progress) => {
          waited ||= progress.waitingForQuotaUntil !== undefined
        }
      })
      expect(report).toMatchObject({ status: "completed", accepted: { items: 24 } })
      // more bodies than one window takes: the gate closed at least once, on a refusal or on "none left"
      expect(report.chunks).toBeGreaterThan(3)
      expect(waited).toBe(true)
      const server = yield* Server
      const log = (yield* server.requests).filter((r) => r.url === "/v1/products/bulk/async")
      // a refused body went again: every body was accepted once
      expect(log.filter((r) => r.outcome === "accepted").length).toBe(report.chunks)
      expect(log.length - report.chunks).toBe(log.filter((r) => r.outcome === "rate_limited").length)
      expect(yield* server.count("products")).toBe(24)
    }).pipe(
      Effect.provide(MockVoucherifyServer.layerTest({
        rateLimits: { bulkQuota: { calls: 3, window: "1 second" } },
        client: { ...fastClient, retry: { ...fastClient.retry, maxRetries: 0 } }
      }))
    ), 30_000)

  it.live("interrupted mid-run, the report handed to onReport accounts for every record read", () =>
    Effect.gen(function*() {
      const server = yield* Server
      yield* server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "200 millis" }, path: "/v1/customers/bulk/async" }] })
      const reported = yield* Deferred.make<BulkRun.Report>()
      const firstAccepted = yield* Deferred.make<void>()
      const records = Array.from({ length: 400 }, (_, i) => ({ source_id: `i${i}`, metadata: { i } }))
      const fiber = yield* Effect.fork(BulkRecords.run(records, {
        target: "customers",
        maxBytes: 400,
        concurrency: 2,
        onProgress: (progress) => {
          if (progress.chunksAccepted > 0) Deferred.unsafeDone(firstAccepted, Exit.void)
        },
        onReport: (report) => Deferred.succeed(reported, report)
      }))
      yield* Deferred.await(firstAccepted)
      yield* Fiber.interrupt(fiber)
      const report = yield* Deferred.await(reported)
      expect(report.status).toBe("interrupted")
      expectBalanced(report)
      expect(report.accepted.items).toBeGreaterThan(0)
      expect(report.accepted.items).toBeLessThan(400)
      // what the report holds as accepted is in the store
      for (const action of report.accepted.actions) {
        for (const record of records.slice(action.offset, action.offset + action.count)) {
          expect(Option.isSome(yield* server.getRecord("customers", record.source_id))).toBe(true)
        }
      }
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ client: fastClient }))))

  it.live("a journal resumed after a stop sends only what it does not hold; a metadata journal is not a record run's", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const records = Array.from({ length: 50 }, (_, i) => ({ source_id: `j${i}`, metadata: { i } }))
      const journal = yield* BulkJournal.memory()
      // the 4th body is refused as unauthorized: the run stops, with three bodies held as accepted
      let calls = 0
      const stopped = yield* BulkRecords.run(records, {
        target: "products",
        maxBytes: 300,
        concurrency: 1,
        journal,
        onProgress: (p) => {
          calls = p.chunksSent
        }
      }).pipe(
        Effect.provide(Layer.succeed(Voucherify.Voucherify, yield* failingAfter(3))),
        Effect.flip
      )
      expect(calls).toBe(4)
      expect(stopped.report.accepted.chunks).toBe(3)
      const held = stopped.report.accepted.items
      const before = (yield* server.requests).length

      const resumed = yield* BulkRecords.run(records, { target: "products", maxBytes: 300, concurrency: 1, journal, resume: true })
      expect(resumed).toMatchObject({ status: "completed", accepted: { items: 50 }, journal: { chunksHeld: 3 } })
      const sent = (yield* server.requests).slice(before).filter((r) => r.url === "/v1/products/bulk/async")
      expect(sent.length).toBe(resumed.chunks - 3)
      expect(resumed.journal!.chunksSent).toBe(resumed.chunks - 3)
      expect(held).toBeGreaterThan(0)

      // the same journal cannot be resumed as a metadata run, nor a metadata journal as a record run
      const asMetadata = yield* BulkMetadata.run(["j1"], { target: "products", metadata: { i: 1 }, journal, resume: true }).pipe(Effect.flip)
      expect(asMetadata.error).toMatchObject({ _tag: "JournalMismatchError", field: "kind", journal: "records", run: "metadata" })
      const metadataJournal = yield* BulkJournal.memory()
      yield* BulkMetadata.run(["j1"], { target: "products", metadata: { i: 1 }, journal: metadataJournal })
      const asRecords = yield* BulkRecords.run(records, { target: "products", journal: metadataJournal, resume: true }).pipe(Effect.flip)
      expect(asRecords.error).toMatchObject({ _tag: "JournalMismatchError", field: "kind", journal: "metadata", run: "records" })
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ client: fastClient }))))
})

/**
 * The service of the layer in context, whose bulk calls fail with a 401
 * from the `(n + 1)`th on: a run that stops part way, for a resume.
 */
const failingAfter = (n: number) =>
  Effect.map(Voucherify.Voucherify, (voucherify): Voucherify.Service => {
    let calls = 0
    return {
      ...voucherify,
      sendEncodedBulkRequest: (request) =>
        ++calls > n ? Effect.fail(new UnauthorizedError({ status: 401 })) : voucherify.sendEncodedBulkRequest(request)
    }
  })
