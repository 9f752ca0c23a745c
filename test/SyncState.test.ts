/**
 * The sync state end to end: runs over real HTTP against the loopback
 * MockVoucherifyServer, the state in an SQLite file through
 * `@effect/sql-libsql`. The ids sent are read off the wire and compared as
 * sets; the state is read back with SQL.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { LibsqlClient } from "@effect/sql-libsql"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import * as BulkJournal from "../src/BulkJournal.js"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRecords from "../src/BulkRecords.js"
import * as BulkRun from "../src/BulkRun.js"
import { canonicalJson, contentHash, textHash } from "../src/internal/state/contentHash.js"
import * as sqlState from "../src/internal/state/sqlState.js"
import { startHashWorker } from "../src/internal/state/hashPool.js"
import { Sync } from "../src/internal/state/sync.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as SyncState from "../src/SyncState.js"
import { expectBalanced } from "./support/report.js"

const { MockVoucherifyServer: Server } = MockVoucherifyServer

/** The ids of every body sent to a bulk endpoint, read off the wire as they leave. */
const capturing = () => {
  const sent: Array<string> = []
  const layer = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => {
          if (request.body._tag !== "Uint8Array" || !request.url.endsWith("/async")) return
          const body = JSON.parse(Buffer.from(request.body.body).toString("utf8")) as unknown
          if (Array.isArray(body)) for (const r of body as Array<Record<string, string>>) sent.push(r["source_id"] ?? r["code"]!)
          else {
            const { codes, source_ids } = body as { source_ids?: Array<string>; codes?: Array<string> }
            sent.push(...(source_ids ?? codes ?? []))
          }
        })))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  return { sent, layer, take: () => sent.splice(0).sort() }
}

const fastClient: MockVoucherifyServer.ClientOptions = {
  timeout: "2 seconds",
  retry: { maxRetries: 8, baseDelay: "5 millis", maxDelay: "40 millis", maxRetryAfter: "5 seconds" }
}
const settle = { schedule: Schedule.spaced("10 millis") }

const tempDb = () => join(mkdtempSync(join(tmpdir(), "sync-state-")), "state.db")
const stateLayer = (path: string) => SyncState.layer.pipe(Layer.provideMerge(LibsqlClient.layer({ url: `file:${path}` })))

/** A fresh state file, a mock server, and the ids its bulk endpoints received. */
const setup = (options: MockVoucherifyServer.TestOptions = {}) => {
  const wire = capturing()
  const layer = Layer.merge(
    stateLayer(tempDb()),
    MockVoucherifyServer.layerTest({ client: fastClient, httpClient: wire.layer, ...options })
  )
  return { wire, layer }
}

const product = (i: number, tier = "gold") => ({ source_id: `sku-${i}`, name: `Product ${i}`, price: i * 10, metadata: { tier, i } })
const sorted = (ids: Iterable<string>) => [...ids].sort()

describe("canonical content", () => {
  it("key order is not a change, values and array order are", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: "x" } })).toBe("{\"a\":{\"c\":\"x\",\"d\":[2,1]},\"b\":1}")
    expect(contentHash({ b: 1, a: 2 })).toBe(contentHash({ a: 2, b: 1 }))
    expect(contentHash({ a: [1, 2] })).not.toBe(contentHash({ a: [2, 1] }))
    expect(contentHash({ a: "1" })).not.toBe(contentHash({ a: 1 }))
    expect(contentHash({ a: null })).not.toBe(contentHash({}))
    expect(contentHash({})).toMatch(/^[0-9a-f]{64}$/)
    // index-like keys, a key __proto__ parsed from JSON, nested arrays of objects: order still does not count
    const a = JSON.parse(`{"10":1,"9":2,"__proto__":{"y":1,"x":2},"z":[{"b":1,"a":2}],"a":null}`)
    const b = JSON.parse(`{"a":null,"z":[{"a":2,"b":1}],"__proto__":{"x":2,"y":1},"9":2,"10":1}`)
    expect(canonicalJson(a)).toBe(canonicalJson(b))
    expect(canonicalJson(a)).toBe(`{"10":1,"9":2,"__proto__":{"x":2,"y":1},"a":null,"z":[{"a":2,"b":1}]}`)
  })
})

/** Hashes as given to the state, in hex: a column of digests cut into its 64-digit hashes. */
const hexes = (hashes: sqlState.Hashes): ReadonlyArray<string> | string =>
  hashes instanceof Uint8Array
    ? Array.from({ length: hashes.length / 32 }, (_, i) => Buffer.from(hashes.subarray(i * 32, i * 32 + 32)).toString("hex"))
    : hashes

describe("the records a run sent, by body", () => {
  it.effect("a report's rows in another order, twice, or for records the body did not hold: each record confirmed once, with its own hashes", () =>
    Effect.gen(function*() {
      const confirmed: Array<unknown> = []
      const state: SyncState.Service = {
        changed: (_key, ids) => Effect.succeed(ids.map((_, i) => i)),
        fingerprints: () => Effect.succeed({ size: 0, hasHash: () => false }),
        // the hashes come as columns of 32-byte digests: read back in hex, to compare
        confirm: (_key, asyncActionId, ids, { hashes, sent }) =>
          Effect.sync(() => confirmed.push({ asyncActionId, ids, hashes: hexes(hashes), sent: hexes(sent) }))
      }
      // an empty state: the records are hashed in the hashing worker (its source, through tsx), and
      // waited for at the confirmation
      const sourceWorker = (idField: string) =>
        startHashWorker(
          idField,
          new Worker(
            `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${
              JSON.stringify(new URL("../src/internal/state/hashWorker.ts", import.meta.url).href)
            }) })`,
            { eval: true }
          )
        )
      const sync = new Sync(state, "products", { _tag: "Each", kind: "records", idField: "id" }, 0, sourceWorker)
      const records = ["a", "b", "c", "d", "e"].map((id) => JSON.stringify({ id }))
      // two batches through the state's stage, then bodies of three and two records
      const out = yield* Stream.runCollect(
        sync.changed(Stream.fromIterable(records).pipe(Stream.rechunk(2)), () => Effect.void)
      )
      expect([...out]).toEqual(records)
      sync.packed({ offset: 0, count: 3 })
      sync.packed({ offset: 3, count: 2 })
      yield* sync.confirm("aa_1", 0, ["c", "a", "a", "x", "d", "b"], 1)
      const of = (id: string) => JSON.stringify({ id })
      expect(confirmed).toEqual([{
        asyncActionId: "aa_1",
        ids: ["c", "a", "b"],
        // written canonically already: the content hash is the text's
        hashes: ["c", "a", "b"].map((id) => textHash(of(id))),
        sent: ["c", "a", "b"].map((id) => textHash(of(id)))
      }])
      // a body given up confirms nothing afterwards
      sync.forget(3)
      yield* sync.confirm("aa_2", 3, ["d", "e"], 2)
      expect(confirmed[1]).toEqual({ asyncActionId: "aa_2", ids: [], hashes: [], sent: [] })
      yield* Effect.promise(() => sync.close())

      // a hashing worker that fails: the records are hashed on this thread, the same
      const failing = new Sync(state, "products", { _tag: "Each", kind: "records", idField: "id" }, 0, () => ({
        hash: () => Promise.reject(new Error("the worker is gone")),
        close: () => Promise.resolve()
      }))
      yield* Stream.runDrain(failing.changed(Stream.fromIterable(records), () => Effect.void))
      failing.packed({ offset: 0, count: 5 })
      yield* failing.confirm("aa_3", 0, ["e", "a"], 3)
      expect(confirmed[2]).toEqual({
        asyncActionId: "aa_3",
        ids: ["e", "a"],
        hashes: ["e", "a"].map((id) => textHash(of(id))),
        sent: ["e", "a"].map((id) => textHash(of(id)))
      })
    }))
})

describe("the hashing worker", () => {
  it.effect("a thread that dies refuses the batch it held and every batch after it, rather than leaving them unanswered", () =>
    Effect.gen(function*() {
      const dying = startHashWorker(
        "id",
        new Worker(`require("node:worker_threads").parentPort.on("message", () => { throw new Error("boom") })`, { eval: true })
      )!
      const first = yield* Effect.flip(Effect.tryPromise(() => dying.hash(["{\"id\":\"a\"}"])))
      expect(String(first.cause)).toContain("boom")
      const later = yield* Effect.flip(Effect.tryPromise(() => dying.hash(["{\"id\":\"b\"}"])))
      expect(String(later.cause)).toContain("boom")
      yield* Effect.promise(() => dying.close())
    }))
})

describe("a run with a sync state, against MockVoucherifyServer", () => {
  it.live("records: the first run sends all and fills the state; the next sends exactly what changed", () => {
    const { layer, wire } = setup()
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const sql = yield* SqlClient.SqlClient
      const first = Array.from({ length: 60 }, (_, i) => product(i))
      const one = yield* BulkRecords.run(first, { target: "products", state, maxBytes: 1_000, await: settle })
      expectBalanced(one)
      expect(one).toMatchObject({ status: "completed", total: 60, unchanged: 0, accepted: { items: 60 } })
      expect(wire.take()).toEqual(sorted(first.map((r) => r.source_id)))
      const rows = yield* sql<{ id: string; content_sha256: string; kind: string; target: string }>`
        SELECT target, kind, id, content_sha256 FROM voucherify_sync_state ORDER BY id`
      expect(rows.length).toBe(60)
      expect(rows[0]).toMatchObject({ target: "products", kind: "records", content_sha256: contentHash(product(0)) })

      // 3 changed, 1 only reordered (no change), 2 new; 5 dropped from the export (nothing to do)
      const second = first.slice(0, 55).map((r, i) =>
        i === 7 || i === 20 || i === 41 ? product(i, "silver") : i === 9 ? { metadata: r.metadata, price: r.price, name: r.name, source_id: r.source_id } : r
      )
      second.push(product(100), product(101))
      const two = yield* BulkRecords.run(second, { target: "products", state, maxBytes: 1_000, await: settle })
      expectBalanced(two)
      expect(two).toMatchObject({ status: "completed", total: 57, unchanged: 52, accepted: { items: 5 } })
      expect(wire.take()).toEqual(sorted(["sku-7", "sku-20", "sku-41", "sku-100", "sku-101"]))
      // a third run of the same export sends nothing
      const three = yield* BulkRecords.run(second, { target: "products", state, await: settle })
      expect(three).toMatchObject({ total: 57, unchanged: 57, chunks: 0, accepted: { items: 0 } })
      expect(wire.take()).toEqual([])
      // the server holds the changed values
      const server = yield* Server
      const stored = yield* server.getRecord("products", "sku-20")
      expect(stored._tag === "Some" && stored.value.metadata).toEqual({ tier: "silver", i: 20 })
    }).pipe(
      Effect.provide(layer)
    )
  })

  it.live("vouchers: codes the report calls not updated are not confirmed, and go again", () => {
    const known = Array.from({ length: 20 }, (_, i) => `CODE-${i}`)
    const { layer, wire } = setup({ records: { vouchers: known } })
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const records = [...known, "NOPE-1", "NOPE-2"].map((code) => ({ code, metadata: { batch: 1 } }))
      const one = yield* BulkRecords.run(records, { target: "vouchers", state, await: settle })
      expect(one.reconciliation).toMatchObject({ updated: 20, notUpdated: 2 })
      expect(wire.take().length).toBe(22)
      const two = yield* BulkRecords.run(records, { target: "vouchers", state, await: settle })
      expectBalanced(two)
      expect(two).toMatchObject({ unchanged: 20, accepted: { items: 2 } })
      expect(wire.take()).toEqual(["NOPE-1", "NOPE-2"])
    }).pipe(
      Effect.provide(layer)
    )
  })

  it.live("an action that ends FAILED confirms nothing: its records go again", () => {
    const { layer, wire } = setup()
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const server = yield* Server
      const records = Array.from({ length: 30 }, (_, i) => product(i))
      yield* server.setFaults({ rules: [{ fault: { _tag: "ActionFailed" }, method: "POST", first: 1 }] })
      // 3 bodies of 10 records: the first action fails
      const one = yield* BulkRecords.run(records, { target: "products", state, maxBytes: 700, concurrency: 1, await: settle })
      const statuses = one.accepted.actions.map((a) => a.status)
      expect(statuses.length).toBeGreaterThan(2)
      expect(statuses).toEqual(["FAILED", ...statuses.slice(1).map(() => "DONE")])
      const failedAction = one.accepted.actions[0]!
      wire.take()
      const two = yield* BulkRecords.run(records, { target: "products", state, await: settle })
      expect(two.unchanged).toBe(30 - failedAction.count)
      expect(wire.take()).toEqual(sorted(records.slice(0, failedAction.count).map((r) => r.source_id)))
    }).pipe(
      Effect.provide(layer)
    )
  })

  it.live("actions not followed to their end, or a run interrupted before they end, confirm nothing", () => {
    const { layer, wire } = setup({ processingDelay: "2 seconds" })
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const sql = yield* SqlClient.SqlClient
      const records = Array.from({ length: 20 }, (_, i) => product(i))
      // the server takes 2 s per action: a 50 ms await gives up on it
      const timedOut = yield* BulkRecords.run(records, { target: "products", state, await: { timeout: "50 millis" } })
      expect(timedOut.accepted.actions.every((a) => a.awaitError !== undefined)).toBe(true)
      const interrupted = yield* Effect.fork(BulkRecords.run(records, { target: "products", state, await: settle }))
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(interrupted)
      expect(yield* sql`SELECT id FROM voucherify_sync_state`).toEqual([])
      wire.take()
      // so the next run sends them all again
      const again = yield* BulkRecords.run(records, { target: "products", state, await: { timeout: "50 millis" } })
      expect(again.unchanged).toBe(0)
      expect(wire.take()).toEqual(sorted(records.map((r) => r.source_id)))
    }).pipe(
      Effect.provide(layer)
    )
  })

  it.live("many chunks, one at a time, some refused: the sender waits for the follow-up, and nothing stalls", () => {
    const { layer, wire } = setup({ client: { timeout: "2 seconds", retry: { maxRetries: 0 } } })
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const server = yield* Server
      const records = Array.from({ length: 240 }, (_, i) => product(i))
      // a quarter of the bulk requests answer 500, and this client does not retry: refused, and the run goes on
      yield* server.setFaults({
        seed: 7,
        rules: [{ fault: { _tag: "ServerError", status: 500 }, method: "POST", path: "/v1/products/bulk/async", rate: 0.25 }]
      })
      const one = yield* BulkRecords.run(records, {
        target: "products",
        state,
        maxBytes: 600,
        concurrency: 1,
        onChunkError: "continue",
        await: { ...settle, concurrency: 1 }
      })
      expectBalanced(one)
      expect(one.chunks).toBeGreaterThan(20)
      const refused = one.rejected.reduce((n, r) => n + r.count, 0) + one.unknown.reduce((n, r) => n + r.count, 0)
      expect(refused).toBeGreaterThan(0)
      expect(one.accepted.items + refused).toBe(240)
      yield* server.setFaults({ rules: [] })
      wire.take()
      // what was refused goes again, and only that
      const two = yield* BulkRecords.run(records, { target: "products", state, await: settle })
      expect(two).toMatchObject({ unchanged: one.accepted.items, accepted: { items: refused } })
    }).pipe(
      Effect.provide(layer)
    )
  })

  it.live("metadata: one hash per metadata object, per target; one-id-per-line input; stateMaxAge sends old ones again", () => {
    const { layer, wire } = setup()
    const lines = (ids: ReadonlyArray<string>) => BulkMetadata.lines(Stream.make(new TextEncoder().encode(`${ids.join("\n")}\n\n`)))
    const ids = Array.from({ length: 40 }, (_, i) => `p-${i}`)
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const run = (target: "products" | "customers", input: ReadonlyArray<string>, metadata: Record<string, unknown>, stateMaxAge?: Duration.DurationInput) =>
        BulkMetadata.run(lines(input), {
          target,
          metadata,
          state,
          await: settle,
          ...(stateMaxAge !== undefined ? { stateMaxAge } : {})
        })
      const one = yield* run("products", ids, { a: 1, b: 2 })
      expect(one).toMatchObject({ total: 40, unchanged: 0, accepted: { items: 40 } })
      expect(wire.take().length).toBe(40)
      // the same metadata with its keys in another order, and 2 new ids
      const two = yield* run("products", [...ids, "p-new", "p-new2"], { b: 2, a: 1 })
      expectBalanced(two)
      expect(two).toMatchObject({ total: 42, unchanged: 40, accepted: { items: 2 } })
      expect(wire.take()).toEqual(["p-new", "p-new2"])
      // another target: other items
      yield* run("customers", ids.slice(0, 5), { a: 1, b: 2 })
      expect(wire.take().length).toBe(5)
      // other metadata: every id again
      const four = yield* run("products", ids.slice(0, 10), { a: 1, b: 3 })
      expect(four.unchanged).toBe(0)
      expect(wire.take().length).toBe(10)
      // a confirmation older than the limit is sent again; a recent one is not
      expect((yield* run("products", ids.slice(0, 10), { a: 1, b: 3 }, "1 hour")).unchanged).toBe(10)
      expect((yield* run("products", ids.slice(0, 10), { a: 1, b: 3 }, Duration.infinity)).unchanged).toBe(10)
      yield* Effect.sleep("5 millis")
      expect((yield* run("products", ids.slice(0, 10), { a: 1, b: 3 }, "1 millis")).unchanged).toBe(0)
      expect(wire.take().length).toBe(10)
    }).pipe(
      Effect.provide(layer)
    )
  })

  it.live("refused before anything is sent: a state with resume, a stateMaxAge without a state", () => {
    const { layer, wire } = setup()
    return Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const journal = yield* BulkJournal.memory()
      const resumed = yield* Effect.flip(
        BulkRecords.run([product(1)], { target: "products", state, journal, resume: true })
      )
      expect(resumed.error).toMatchObject({ _tag: "InvalidRequestError", path: "resume" })
      const aged = yield* Effect.flip(BulkRecords.run([product(1)], { target: "products", stateMaxAge: "1 day" }))
      expect(aged.error).toMatchObject({ _tag: "InvalidRequestError", path: "stateMaxAge" })
      expect(wire.sent).toEqual([])
    }).pipe(
      Effect.provide(layer)
    )
  })
})

describe("SyncState over SqlClient", () => {
  it.effect("hashes that do not fit the ids are refused with InvalidHashes, before anything is written", () =>
    Effect.gen(function*() {
      const state = yield* SyncState.SyncState
      const sql = yield* SqlClient.SqlClient
      const key = { target: "products", kind: "records" } as const
      const hash = contentHash({})
      const refused = [
        state.confirm(key, "aa_1", ["a", "b"], { hashes: [hash], sent: hash }, 1),
        state.confirm(key, "aa_1", ["a", "b"], { hashes: hash, sent: Buffer.alloc(32) }, 1),
        state.confirm(key, "aa_1", ["a"], { hashes: Buffer.alloc(33), sent: hash }, 1),
        state.changed(key, ["a", "b", "c"], [hash, hash], 0)
      ]
      const messages: Array<string> = []
      for (const call of refused) {
        const error = yield* Effect.flip(call)
        expect(error.reason).toBe("InvalidHashes")
        messages.push(error.message)
      }
      expect(messages).toEqual([
        "confirm: 1 hashes for 2 items",
        "confirm: a column of 32 bytes of digests for 2 items (32 bytes an item)",
        "confirm: a column of 33 bytes of digests for 1 items (32 bytes an item)",
        "changed: 2 hashes for 3 items"
      ])
      expect(yield* sql`SELECT id FROM voucherify_sync_state`).toEqual([])
      // what fits is written: one hash for all, a column of one digest a item
      yield* state.confirm(key, "aa_2", ["a", "b"], { hashes: hash, sent: Buffer.alloc(64) }, 2)
      expect((yield* sql<{ id: string }>`SELECT id FROM voucherify_sync_state ORDER BY id`).map((row) => row.id)).toEqual(["a", "b"])
    }).pipe(Effect.provide(stateLayer(tempDb()))))

  const key = { target: "products", kind: "records" } as const
  for (const path of ["auto", "portable"] as const) {
    it.effect(`${path} statements: changed and confirm agree, across batches`, () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sqlState.open
        const ids = Array.from({ length: 1_234 }, (_, i) => `id-${i}`)
        const hashes = ids.map((id) => contentHash({ id }))
        expect((yield* sqlState.changed(sql, key, ids, hashes, 0, path)).length).toBe(1_234)
        yield* sqlState.confirm(sql, key, "aa_1", ids.slice(0, 1_000), { hashes: hashes.slice(0, 1_000), sent: hashes.slice(0, 1_000) }, 5_000, path)
        const moved = hashes.map((h, i) => (i % 100 === 0 ? contentHash({ other: i }) : h))
        const changed = yield* sqlState.changed(sql, key, ids, moved, 0, path)
        const expected = ids.flatMap((_, i) => (i % 100 === 0 || i >= 1_000 ? [i] : []))
        expect([...changed].sort((a, b) => a - b)).toEqual(expected)
        // confirmed at 5000: too old for a run that counts from 5001
        expect((yield* sqlState.changed(sql, key, ids.slice(0, 10), hashes.slice(0, 10), 5_001, path)).length).toBe(10)
        // another target holds nothing
        expect((yield* sqlState.changed(sql, { ...key, target: "customers" }, ids.slice(0, 3), hashes.slice(0, 3), 0, path)).length).toBe(3)
        // the fingerprints read once: the confirmed hashes, in pages past 50,000 items, since a time
        const many = Array.from({ length: 120_000 }, (_, i) => `m-${i}`)
        const manyHashes = many.map((id) => contentHash({ id, v: 1 }))
        const manySent = many.map((id) => textHash(JSON.stringify({ v: 1, id })))
        yield* sqlState.confirm(sql, { ...key, target: "customers" }, "aa_2", many, { hashes: manyHashes, sent: manySent }, 7_000, path)
        const held = yield* sqlState.fingerprints(sql, { ...key, target: "customers" }, 0, path)
        expect(held.size).toBe(120_000)
        // the fingerprints are of the texts as sent
        expect(manySent.every((hash) => held.hasHash(hash))).toBe(true)
        expect(manyHashes.some((hash) => held.hasHash(hash))).toBe(false)
        expect((yield* sqlState.fingerprints(sql, key, 5_000, path)).size).toBe(1_000)
        expect((yield* sqlState.fingerprints(sql, key, 5_001, path)).size).toBe(0)
        // each row holds its own two hashes, as text
        const row = yield* sql<{ content: string; sent: string; types: string }>`SELECT content_sha256 AS content,
          sent_sha256 AS sent, typeof(content_sha256) || ' ' || typeof(sent_sha256) AS types FROM voucherify_sync_state
          WHERE target = 'customers' AND id = 'm-70001'`
        expect(row).toEqual([{ content: manyHashes[70_001], sent: manySent[70_001], types: "text text" }])
        // hashes of another form (the service is public) are kept as they are given
        const odd = ["x", "ü".repeat(64), contentHash({ odd: 1 })]
        yield* sqlState.confirm(sql, { ...key, target: "vouchers" }, "aa_3", ["o-1", "o-2", "o-3"], { hashes: odd, sent: odd }, 9_000, path)
        const rows = yield* sql<{ id: string; content: string; sent: string }>`SELECT id, content_sha256 AS content,
          sent_sha256 AS sent FROM voucherify_sync_state WHERE target = 'vouchers' ORDER BY id`
        expect(rows).toEqual(odd.map((hash, i) => ({ id: `o-${i + 1}`, content: hash, sent: hash })))
        // hashes as columns of 32-byte digests are kept in hex, as text; confirmed again, a row takes the
        // new hashes (a plain insert meets the row already there, and the upsert goes instead)
        const digests = (hexes: ReadonlyArray<string>) => Buffer.from(hexes.join(""), "hex")
        const again = many.slice(0, 3).map((id) => contentHash({ id, v: 2 }))
        const fresh = ["n-1", "n-2"].map((id) => contentHash({ id }))
        yield* sqlState.confirm(sql, { ...key, target: "customers" }, "aa_4", [...many.slice(0, 3), "n-1", "n-2"], {
          hashes: digests([...again, ...fresh]),
          sent: digests([...fresh, ...again])
        }, 11_000, path)
        const updated = yield* sql<{ id: string; content: string; sent: string; at: number; types: string }>`SELECT id,
          content_sha256 AS content, sent_sha256 AS sent, confirmed_at AS at, typeof(content_sha256) || ' ' || typeof(sent_sha256) AS types
          FROM voucherify_sync_state WHERE target = 'customers' AND id IN ('m-0', 'm-1', 'm-2', 'n-1', 'n-2') ORDER BY id`
        expect(updated).toEqual([
          ...many.slice(0, 3).map((id, i) => ({ id, content: again[i], sent: [...fresh, ...again][i], at: 11_000, types: "text text" })),
          ...["n-1", "n-2"].map((id, i) => ({ id, content: fresh[i], sent: again[i + 1], at: 11_000, types: "text text" }))
        ])
        expect((yield* sqlState.fingerprints(sql, { ...key, target: "customers" }, 0, path)).size).toBe(120_002)
      }).pipe(Effect.provide(LibsqlClient.layer({ url: `file:${tempDb()}` }))))
  }

  it.effect("a state of a newer version, or a meta table without one, is refused and left as it is", () =>
    Effect.gen(function*() {
      const path = tempDb()
      const sql = LibsqlClient.layer({ url: `file:${path}` })
      yield* Effect.provide(SyncState.make, sql)
      yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (s) => s`UPDATE voucherify_sync_meta SET value = '2' WHERE name = 'schema_version'`),
        sql
      )
      const before = readFileSync(path)
      const newer = yield* Effect.flip(Effect.provide(SyncState.make, sql))
      expect(newer).toMatchObject({ _tag: "SyncStateError", reason: "NewerVersion" })
      expect(newer.message).toContain("schema version 2")
      expect(readFileSync(path).equals(before)).toBe(true)
      yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (s) => s`UPDATE voucherify_sync_meta SET value = 'x' WHERE name = 'schema_version'`),
        sql
      )
      expect(yield* Effect.flip(Effect.provide(SyncState.make, sql))).toMatchObject({ reason: "NotAState" })
    }))

  it.effect("a file that is not a database is refused with a typed error, and left as it is", () =>
    Effect.gen(function*() {
      const path = tempDb()
      writeFileSync(path, "source_id,name\nsku-1,Tea\n".repeat(200))
      const before = readFileSync(path)
      const error = yield* Effect.flip(Effect.provide(SyncState.make, LibsqlClient.layer({ url: `file:${path}` })))
      expect(error).toMatchObject({ _tag: "SyncStateError", reason: "Database" })
      expect(readFileSync(path).equals(before)).toBe(true)
    }))
})

// the report schema keeps `unchanged` through JSON
it("the report's unchanged count survives JSON", () => {
  const report: BulkRun.Report = {
    status: "completed",
    unit: "records",
    total: 3,
    unchanged: 2,
    chunks: 1,
    bytes: 10,
    accepted: { items: 1, chunks: 1, actions: [{ asyncActionId: "aa_1", chunkIndex: 0, offset: 0, count: 1 }] },
    rejected: [],
    unknown: [],
    notAttempted: [],
    durationMs: 1
  }
  expect(JSON.parse(JSON.stringify(report))).toEqual(report)
})
