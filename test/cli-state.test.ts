/**
 * `--state` through the built `bin`, against a mock server started in this
 * process (one server for the runs of a test, so that it keeps what earlier
 * runs sent). Which ids a run sent is read from the report files of the
 * actions it started: sets, not counts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import Database from "libsql"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as Voucherify from "../src/Voucherify.js"
import { cli, flagsOf, scratch, start } from "./support/cli.js"

const { file, path } = scratch("cli-state-")
const timeout = 120_000

/** The ids named by the report files of the actions after the first `from`. */
const sentSince = (from: number) =>
  Effect.gen(function*() {
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    const voucherify = yield* Voucherify.Voucherify
    const actions = (yield* server.asyncActions).slice(from)
    const ids: Array<string> = []
    for (const action of actions) {
      for (const url of action.result?.reports ?? []) {
        yield* Stream.runForEach(voucherify.readReport(url), (row) => Effect.sync(() => ids.push(row.id)))
      }
    }
    return { ids: ids.sort(), actions: from + actions.length }
  })

const ndjson = (records: ReadonlyArray<Record<string, unknown>>) => records.map((r) => JSON.stringify(r)).join("\n") + "\n"
const product = (i: number, name = `Product ${i}`) => ({ source_id: `sku-${String(i).padStart(4, "0")}`, name, price: i })
const stateRows = (db: string): Array<string> =>
  (new Database(db, { readonly: true }).prepare("SELECT id FROM voucherify_sync_state ORDER BY id").raw(true).all() as Array<[string]>)
    .map(([id]) => id)

describe("--state", () => {
  it.live("a first run fills the state; the next sends exactly the changed records, --dry-run counts them first", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = Array.from({ length: 500 }, (_, i) => product(i))
      const db = path("loop.db")
      const run = (name: string, extra: ReadonlyArray<string> = []) =>
        cli(["products-update", "--records", name, "--state", db, "--quiet", ...extra, ...flagsOf(server)])
      const first = yield* run(file("day1.ndjson", ndjson(records)), ["--max-bytes", "5000"])
      expect(first.code).toBe(0)
      expect(first.stdout).toMatch(/^unchanged +0 records/m)
      let seen = yield* sentSince(0)
      expect(seen.ids).toEqual(records.map((r) => r.source_id).sort())
      expect(stateRows(db)).toEqual(records.map((r) => r.source_id).sort())

      // day 2: five changed, one only reordered, two new
      const changed = [3, 77, 250, 251, 499]
      const day2 = records.map((r, i) =>
        changed.includes(i) ? product(i, `Renamed ${i}`) : i === 10 ? { price: r.price, name: r.name, source_id: r.source_id } : r
      )
      day2.push(product(900), product(901))
      const day2File = file("day2.ndjson", ndjson(day2))
      const plan = yield* cli(["products-update", "--records", day2File, "--state", db, "--dry-run", ...flagsOf(server)])
      expect(plan.code).toBe(0)
      expect(plan.stdout).toContain("7 would be sent, 495 skipped (the state holds them as confirmed)")
      expect((yield* sentSince(seen.actions)).ids).toEqual([])

      const second = yield* run(day2File, ["--report", path("day2.json")])
      expect(second.code).toBe(0)
      expect(second.stdout).toMatch(/^unchanged +495 records \(the state holds them as confirmed: not sent\)$/m)
      seen = yield* sentSince(seen.actions)
      expect(seen.ids).toEqual([...changed.map((i) => product(i).source_id), "sku-0900", "sku-0901"].sort())
      const report = JSON.parse(readFileSync(path("day2.json"), "utf8"))
      expect(report).toMatchObject({ status: "completed", total: 502, unchanged: 495, accepted: { items: 7 } })

      // the same export again: nothing to send, and a success
      const third = yield* run(day2File)
      expect(third.code).toBe(0)
      expect(third.stdout).toMatch(/^accepted +0 records in 0 chunks$/m)
      expect((yield* sentSince(seen.actions)).ids).toEqual([])
      // lines the state knows are passed over unparsed, and still counted: a bad line after them is named by its line
      const bad = yield* run(file("day3.ndjson", `${ndjson(day2)}{"source_id":"sku-bad","price":"cheap"}\n`))
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain("line 503")
      expect((yield* sentSince(seen.actions)).ids).toEqual([])
      // a limit on age sends everything again
      const aged = yield* run(day2File, ["--state-max-age", "1ms"])
      expect(aged.code).toBe(0)
      expect((yield* sentSince(seen.actions)).ids.length).toBe(502)
      expect(existsSync(`${db}.lock`)).toBe(false)
      // the state holds ids, hashes, times and action ids: never the credential the runs used
      expect(readFileSync(db).includes(Redacted.value(server.appToken))).toBe(false)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())), timeout)

  it.live("metadata commands keep their own items: per target, per metadata", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const db = path("metadata.db")
      const ids = file("ids.txt", Array.from({ length: 300 }, (_, i) => `p-${i}`).join("\n"))
      const run = (command: string, metadata: string) =>
        cli([command, "--ids", ids, "--metadata", metadata, "--state", db, "--quiet", ...flagsOf(server)])
      expect((yield* run("products-metadata", "{\"a\":1,\"b\":2}")).code).toBe(0)
      const again = yield* run("products-metadata", "{\"b\":2,\"a\":1}")
      expect(again.stdout).toMatch(/^unchanged +300 ids/m)
      expect((yield* run("customers-metadata", "{\"a\":1,\"b\":2}")).stdout).toMatch(/^unchanged +0 ids/m)
      expect((yield* run("products-metadata", "{\"a\":1,\"b\":3}")).stdout).toMatch(/^unchanged +0 ids/m)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())), timeout)

  it.live("a file that is not a state, a state of a newer version: exit 1, nothing sent, the file untouched", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = file("few.ndjson", ndjson([product(1), product(2)]))
      const run = (db: string) => cli(["products-update", "--records", records, "--state", db, "--quiet", ...flagsOf(server)])
      const csv = file("not-a-db.csv", "source_id,name\nsku-1,Tea\n")
      const other = path("other-app.db")
      const app = new Database(other)
      app.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders VALUES (1, 9.5)")
      app.close()
      const newer = path("newer.db")
      expect((yield* run(newer)).code).toBe(0)
      const fromFuture = new Database(newer)
      fromFuture.exec("UPDATE voucherify_sync_meta SET value = '7' WHERE name = 'schema_version'")
      fromFuture.close()
      const before = (yield* server.requests).length
      for (const [db, message] of [[csv, "not a sync state (not an SQLite database)"], [other, "without the sync state's tables (it holds orders)"], [newer, "schema version 7"]] as const) {
        const bytes = readFileSync(db)
        const result = yield* run(db)
        expect(result.code).toBe(1)
        expect(result.stderr).toContain(message)
        expect(result.stderr).toContain("nothing was sent")
        expect(readFileSync(db).equals(bytes)).toBe(true)
      }
      expect((yield* server.requests).length).toBe(before)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())), timeout)

  it.live("flags: --state-max-age needs --state, --state with --resume is refused, a bad duration is named", () =>
    Effect.gen(function*() {
      const records = file("one.ndjson", ndjson([product(1)]))
      const noState = yield* cli(["products-update", "--records", records, "--state-max-age", "7d", "--mock"])
      expect(noState.code).toBe(1)
      expect(noState.stderr).toContain("--state-max-age needs --state <path>")
      const resumed = yield* cli(["products-update", "--records", records, "--state", path("r.db"), "--journal", path("r.journal"), "--resume", "--mock"])
      expect(resumed.code).toBe(1)
      expect(resumed.stderr).toContain("--state and --resume do not go together")
      const bad = yield* cli(["products-update", "--records", records, "--state", path("r.db"), "--state-max-age", "soon", "--mock"])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain("--state-max-age must be a duration such as 90s, 12h or 7d")
      const nowhere = yield* cli(["products-update", "--records", records, "--state", path("no-such-folder/s.db"), "--mock"])
      expect(nowhere.code).toBe(1)
      expect(nowhere.stderr).toContain("its folder does not exist")
      // refused before the mock server starts
      expect(nowhere.stderr).not.toContain("MockVoucherifyServer listening")
      expect(existsSync(path("r.db"))).toBe(false)
    }), timeout)

  it.live("two runs on one state at once: the second is refused before it sends anything", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const db = path("busy.db")
      const records = file("busy.ndjson", ndjson(Array.from({ length: 50 }, (_, i) => product(i))))
      // the first run's bulk request is held for 3 s
      yield* server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "3 seconds" }, path: "/v1/products/bulk/async" }] })
      const args = ["products-update", "--records", records, "--state", db, "--quiet", ...flagsOf(server)]
      const first = start(args)
      while (!existsSync(`${db}.lock`)) yield* Effect.sleep("20 millis")
      const second = yield* cli(args)
      expect(second.code).toBe(1)
      expect(second.stderr).toContain(`the state ${db} is in use by another run`)
      expect((yield* first.done).code).toBe(0)
      // one bulk request in all: the first run's
      expect((yield* server.requests).filter((r) => r.url.endsWith("/bulk/async")).length).toBe(1)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())), timeout)

  it.live("a body of more records (or ids) than the main thread writes itself: the writer thread records them, and the next run sends none", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = Array.from({ length: 25_000 }, (_, i) => product(i))
      const db = path("large.db")
      const input = file("large.ndjson", ndjson(records))
      const args = ["products-update", "--records", input, "--state", db, "--quiet", ...flagsOf(server)]
      const first = yield* cli(args)
      expect(first.code).toBe(0)
      expect(first.stdout).toMatch(/^accepted +25,000 records in 1 chunk$/m)
      expect(stateRows(db)).toEqual(records.map((r) => r.source_id).sort())
      const before = (yield* server.asyncActions).length
      const second = yield* cli(args)
      expect(second.code).toBe(0)
      expect(second.stdout).toMatch(/^unchanged +25,000 records/m)
      expect((yield* sentSince(before)).ids).toEqual([])

      // a metadata run's one hash for every id, through the same thread
      const metadataDb = path("large-metadata.db")
      const ids = file("large-ids.txt", records.map((r) => r.source_id).join("\n"))
      const metadata = ["products-metadata", "--ids", ids, "--metadata", "{\"b\":2,\"a\":1}", "--state", metadataDb, "--quiet"]
      expect((yield* cli([...metadata, ...flagsOf(server)])).stdout).toMatch(/^accepted +25,000 ids in 1 chunk$/m)
      expect(stateRows(metadataDb)).toEqual(records.map((r) => r.source_id).sort())
      expect((yield* cli([...metadata, ...flagsOf(server)])).stdout).toMatch(/^unchanged +25,000 ids/m)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())), timeout)

  it.live("kill -9 during a state write: the state reads back whole, and the next run sends exactly what it does not hold", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const db = path("killed.db")
      const records = Array.from({ length: 60_000 }, (_, i) => product(i))
      const input = file("killed.ndjson", ndjson(records))
      const args = ["products-update", "--records", input, "--state", db, "--quiet", "--max-bytes", "300000", ...flagsOf(server)]
      // kill the run the moment SQLite's rollback journal exists: a write transaction is open
      let killedMidWrite = false
      for (let attempt = 0; attempt < 5 && !killedMidWrite; attempt++) {
        const run = start(args)
        let exited = false
        const watch = Effect.promise(() =>
          new Promise<void>((resolve) => {
            const poll = () => {
              if (existsSync(`${db}-journal`)) {
                run.child.kill("SIGKILL")
                killedMidWrite = true
                return resolve()
              }
              if (exited) return resolve()
              setImmediate(poll)
            }
            poll()
          })
        )
        yield* Effect.all([watch, Effect.tap(run.done, () => Effect.sync(() => (exited = true)))], { concurrency: 2 })
        if (!killedMidWrite) writeFileSync(db, "") // a run that ended before: start again from an empty state
      }
      expect(killedMidWrite).toBe(true)
      expect(existsSync(`${db}-journal`)).toBe(true)
      const before = (yield* server.asyncActions).length
      // the next run rolls the torn transaction back and reads the state whole
      const next = yield* cli(args)
      expect(next.code).toBe(0)
      const check = new Database(db, { readonly: true })
      expect(check.prepare("PRAGMA integrity_check").raw(true).all()).toEqual([["ok"]])
      check.close()
      const held = new Set(stateRows(db))
      const sent = (yield* sentSince(before)).ids
      expect(held.size).toBe(60_000)
      // what it sent is exactly what the state did not hold before it
      const unchanged = Number(next.stdout.match(/^unchanged +([\d,]+) records/m)![1]!.replace(/,/g, ""))
      expect(sent.length + unchanged).toBe(60_000)
      expect(new Set(sent).size).toBe(sent.length)
    }).pipe(Effect.provide(MockVoucherifyServer.layerTest())), timeout)
})
