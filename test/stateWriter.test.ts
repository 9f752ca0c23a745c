/**
 * The CLI's state writer: a thread with its own connection to the state's
 * SQLite file, run here from its TypeScript source (through tsx), records
 * confirmations exactly as the main thread's connection does, and a thread
 * that fails or dies refuses what it cannot write.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { LibsqlClient } from "@effect/sql-libsql"
import { describe, expect, inject, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Worker } from "node:worker_threads"
import { startStateWriter, writerRows, writingThrough } from "../src/cli/StateWriter.js"
import { contentHash, textHash } from "../src/internal/state/contentHash.js"
import { confirmWrites } from "../src/internal/state/sqliteWrites.js"
import * as sqlState from "../src/internal/state/sqlState.js"
import * as SyncState from "../src/SyncState.js"

const key = { target: "products", kind: "records" } as const
const digests = (hexes: ReadonlyArray<string>) => Buffer.from(hexes.join(""), "hex")

/** The writer's thread from its source, through tsx. */
const sourceThread = (path: string) =>
  new Worker(
    `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${
      JSON.stringify(new URL("../src/cli/stateWriterThread.ts", import.meta.url).href)
    }) })`,
    { eval: true, workerData: { path } }
  )

describe("the state writer", () => {
  it.scoped("writes what the main thread's connection writes: new rows by the batch, rows there already updated", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "state-writer-")), "state.db")
      const sql = LibsqlClient.layer({ url: `file:${path}` })
      // the tables, as a run sets them up on its own connection
      yield* Effect.provide(SyncState.make, sql)
      const writer = (yield* startStateWriter(path, sourceThread))!
      // more ids than one statement takes
      const ids = Array.from({ length: 45_000 }, (_, i) => `p-${i}`)
      const hashes = ids.map((id) => contentHash({ id }))
      const sent = ids.map((id) => textHash(JSON.stringify({ id })))
      yield* writer.write(confirmWrites(key, "aa_1", ids, { hashes: digests(hashes), sent: digests(sent) }, 1_000))
      // confirmed again with other hashes, beside new ids: a plain insert meets the rows, the upsert goes instead
      const again = ["p-1", "p-44999", "n-1"]
      const newer = again.map((id) => contentHash({ id, v: 2 }))
      yield* writer.write(confirmWrites(key, "aa_2", again, { hashes: newer, sent: newer }, 2_000))
      const rows = yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (client) =>
          client<{ id: string; content: string; sent: string; at: number; action: string }>`SELECT id,
            content_sha256 AS content, sent_sha256 AS sent, confirmed_at AS at, async_action_id AS action
            FROM voucherify_sync_state WHERE id IN ('p-0', 'p-1', 'p-44999', 'n-1') ORDER BY id`),
        sql
      )
      expect(rows).toEqual([
        { id: "n-1", content: newer[2], sent: newer[2], at: 2_000, action: "aa_2" },
        { id: "p-0", content: hashes[0], sent: sent[0], at: 1_000, action: "aa_1" },
        { id: "p-1", content: newer[0], sent: newer[0], at: 2_000, action: "aa_2" },
        { id: "p-44999", content: newer[1], sent: newer[1], at: 2_000, action: "aa_2" }
      ])
      const held = yield* Effect.provide(Effect.flatMap(SqlClient.SqlClient, (client) => sqlState.fingerprints(client, key, 0)), sql)
      expect(held.size).toBe(45_001)
      expect(sent.slice(2, 44_999).every((hash) => held.hasHash(hash))).toBe(true)
    }))

  it.scoped("the bundle's writer script (beside main.js, as the package ships it) loads the driver and writes", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "state-writer-")), "state.db")
      const sql = LibsqlClient.layer({ url: `file:${path}` })
      yield* Effect.provide(SyncState.make, sql)
      const bundled = (path: string) => new Worker(join(dirname(inject("cliBin")), "stateWriter.js"), { workerData: { path } })
      const writer = (yield* startStateWriter(path, bundled))!
      const ids = Array.from({ length: 30_000 }, (_, i) => `p-${i}`)
      const hashes = ids.map((id) => contentHash({ id }))
      yield* writer.write(confirmWrites(key, "aa_1", ids, { hashes: digests(hashes), sent: digests(hashes) }, 1))
      const held = yield* Effect.provide(Effect.flatMap(SqlClient.SqlClient, (client) => sqlState.fingerprints(client, key, 0)), sql)
      expect(held.size).toBe(30_000)
      expect(hashes.every((hash) => held.hasHash(hash))).toBe(true)
    }))

  it.scoped("a transaction that fails is undone whole and says why; the writer goes on", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "state-writer-")), "state.db")
      yield* Effect.provide(SyncState.make, LibsqlClient.layer({ url: `file:${path}` }))
      const writer = (yield* startStateWriter(path, sourceThread))!
      const hash = contentHash({})
      const good = confirmWrites(key, "aa_1", ["a"], { hashes: hash, sent: hash }, 1)
      const bad = { insert: "INSERT INTO no_such_table VALUES (1)", upsert: "INSERT INTO no_such_table VALUES (1)", params: [] }
      const error = yield* Effect.flip(writer.write([...confirmWrites(key, "aa_2", ["b"], { hashes: hash, sent: hash }, 2), bad]))
      expect(error).toContain("no such table")
      yield* writer.write(good)
      const ids = yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (client) => client<{ id: string }>`SELECT id FROM voucherify_sync_state ORDER BY id`),
        LibsqlClient.layer({ url: `file:${path}` })
      )
      // "b" was in the failed transaction
      expect(ids).toEqual([{ id: "a" }])
    }))

  it.scoped("a thread that dies refuses the write it held and every write after it, rather than leaving them unanswered", () =>
    Effect.gen(function*() {
      const dying = new Worker(`require("node:worker_threads").parentPort.on("message", () => { throw new Error("boom") })`, {
        eval: true
      })
      const writer = (yield* startStateWriter("unused.db", () => dying))!
      const hash = contentHash({})
      const writes = confirmWrites(key, "aa_1", ["a"], { hashes: hash, sent: hash }, 1)
      expect(yield* Effect.flip(writer.write(writes))).toContain("boom")
      expect(yield* Effect.flip(writer.write(writes))).toContain("boom")
    }))
})

describe("the state with its writer", () => {
  it.effect("large confirmations go to the thread, small ones to the main connection, and nothing meets the thread's write", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const main: SyncState.Service = {
        changed: (_key, ids) => Effect.sync(() => (calls.push(`changed ${ids.length}`), [])),
        fingerprints: () => Effect.sync(() => (calls.push("fingerprints"), { size: 0, hasHash: () => false })),
        confirm: (_key, _action, ids) => Effect.sync(() => void calls.push(`main confirm ${ids.length}`))
      }
      const release = yield* Deferred.make<void>()
      const thread = {
        write: (writes: ReadonlyArray<unknown>) =>
          Effect.zipRight(Deferred.await(release), Effect.sync(() => void calls.push(`thread ${writes.length} statements`)))
      }
      const state = yield* writingThrough(main, Effect.succeed(thread))
      const hash = contentHash({})
      const many = Array.from({ length: writerRows }, (_, i) => `p-${i}`)
      yield* state.confirm(key, "aa_1", ["a", "b"], { hashes: hash, sent: hash }, 1)
      const writing = yield* Effect.fork(state.confirm(key, "aa_2", many, { hashes: hash, sent: hash }, 2))
      yield* Effect.yieldNow()
      const reading = yield* Effect.fork(state.changed(key, ["x"], hash, 0))
      yield* Effect.yieldNow()
      // the read waits for the thread's write
      expect(reading.unsafePoll()).toBeNull()
      expect(calls).toEqual(["main confirm 2"])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(writing)
      yield* Fiber.join(reading)
      expect(calls).toEqual(["main confirm 2", "thread 1 statements", "changed 1"])
    }))

  it.effect("a large confirmation whose hashes do not fit its ids is refused before the thread sees it", () =>
    Effect.gen(function*() {
      const main: SyncState.Service = {
        changed: () => Effect.succeed([]),
        fingerprints: () => Effect.succeed({ size: 0, hasHash: () => false }),
        confirm: () => Effect.die("not the main connection")
      }
      const writes: Array<unknown> = []
      const state = yield* writingThrough(main, Effect.succeed({ write: (w) => Effect.sync(() => void writes.push(w)) }))
      const many = Array.from({ length: writerRows }, (_, i) => `p-${i}`)
      const error = yield* Effect.flip(
        state.confirm(key, "aa_1", many, { hashes: Buffer.alloc(32 * (writerRows - 1)), sent: contentHash({}) }, 1)
      )
      expect(error).toMatchObject({ reason: "InvalidHashes" })
      expect(error.message).toBe(`confirm: a column of ${32 * (writerRows - 1)} bytes of digests for ${writerRows} items (32 bytes an item)`)
      expect(writes).toEqual([])
    }))

  it.effect("without a thread, every confirmation goes to the main connection", () =>
    Effect.gen(function*() {
      const sizes: Array<number> = []
      const main: SyncState.Service = {
        changed: () => Effect.succeed([]),
        fingerprints: () => Effect.succeed({ size: 0, hasHash: () => false }),
        confirm: (_key, _action, ids) => Effect.sync(() => void sizes.push(ids.length))
      }
      const state = yield* writingThrough(main, Effect.succeed(undefined))
      const hash = contentHash({})
      yield* state.confirm(key, "aa_1", Array.from({ length: writerRows + 1 }, (_, i) => `p-${i}`), { hashes: hash, sent: hash }, 1)
      expect(sizes).toEqual([writerRows + 1])
    }))
})
