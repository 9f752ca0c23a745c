/**
 * `products-update`, `customers-update` and `vouchers-update` as an operator
 * runs them: the built `bin` as a child process, against mock servers
 * started in this process. NDJSON and CSV (declared types), the refusals
 * with their line, `kill -9` then `--resume`, the options shared with the
 * metadata commands, and the exit codes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { existsSync, readFileSync } from "node:fs"
import type { Report as BulkReport } from "../src/BulkRun.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, flagsOf, scratch, start } from "./support/cli.js"

const { file, path } = scratch("cli-records-")
const timeout = 120_000

const bulkRequests = (target: string) =>
  Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (server) =>
    Effect.map(server.requests, (log) => log.filter((r) => r.url === `/v1/${target}/bulk/async`)))

const stored = (target: "products" | "customers" | "vouchers", id: string) =>
  Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (server) =>
    Effect.map(server.getRecord(target, id), Option.getOrUndefined))

const ndjson = (records: ReadonlyArray<unknown>) => records.map((r) => JSON.stringify(r)).join("\n") + "\n"

const products = (n: number, prefix = "sku") =>
  Array.from({ length: n }, (_, i) => ({
    source_id: `${prefix}-${String(i).padStart(5, "0")}`,
    price: 100 + i,
    metadata: { tier: ["gold", "silver", "brąz"][i % 3], rank: i }
  }))

const journalAccepted = (journal: string) =>
  existsSync(journal)
    ? readFileSync(journal, "utf8").split("\n").filter((line) => line.includes("\"chunk_accepted\"")).length
    : 0

const requestsOf = (stdout: string) => Number(stdout.match(/^chunks +([\d,]+)$/m)![1]!.replace(/,/g, ""))

describe("the per-record commands", () => {
  it.live("NDJSON to products-update, CSV with declared types to customers-update and from stdin to vouchers-update", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = products(500)
      const run = yield* cli([
        "products-update", "--records", file("products.ndjson", ndjson(records)), "--max-bytes", "4000", "--await",
        "--quiet", ...flagsOf(server)
      ])
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^status +completed$/m)
      expect(run.stdout).toMatch(/^records +500$/m)
      expect(run.stdout).toMatch(/^results +500 done, 0 failed$/m)
      const sent = yield* bulkRequests("products")
      expect(sent.length).toBe(requestsOf(run.stdout))
      expect(Math.max(...sent.map((r) => r.bodyBytes))).toBeLessThanOrEqual(4000)
      for (const record of [records[0]!, records[250]!, records[499]!]) {
        expect(yield* stored("products", record.source_id)).toEqual({ fields: { price: record.price }, metadata: record.metadata })
      }

      const csv = file("customers.csv", "email,tier,visits,vip,zip\na@x.io,gold,12,true,00123\nb@x.io,,3,false,\n")
      const customers = yield* cli([
        "customers-update", "--records", csv, "--id-column", "email", "--types", "visits=number,vip=boolean", "--await",
        "--quiet", ...flagsOf(server)
      ])
      expect(customers.code).toBe(0)
      expect((yield* stored("customers", "a@x.io"))?.metadata).toEqual({ tier: "gold", visits: 12, vip: true, zip: "00123" })
      expect((yield* stored("customers", "b@x.io"))?.metadata).toEqual({ visits: 3, vip: false })

      const codes = yield* cli(
        ["vouchers-update", "--records", "-", "--csv", "--types", "uses=number", "--quiet", ...flagsOf(server)],
        {},
        "code,channel,uses\nV1,email,3\n"
      )
      expect(codes.code).toBe(0)
      expect((yield* stored("vouchers", "V1"))?.metadata).toEqual({ channel: "email", uses: 3 })
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ records: { vouchers: ["V1"] } }))), timeout)

  it.live("a file without a record is refused before a mock server starts or a journal is written: exit 1", () =>
    Effect.gen(function*() {
      for (const [name, text] of [["none.ndjson", "\n\n"], ["header.csv", "source_id,tier\n"]] as const) {
        const journal = path(`${name}.journal`)
        const run = yield* cli(["products-update", "--records", file(name, text), "--mock", "--journal", journal, "--quiet"])
        expect(run.code).toBe(1)
        expect(run.stderr).toBe(`error: ${path(name)} has no records\n`)
        expect(run.stdout).toBe("")
        expect(existsSync(journal)).toBe(false)
      }
    }), timeout)

  it.live("refuses a record with its line (and column), before it is sent: exit 1", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const refused = (name: string, text: string, extra: ReadonlyArray<string> = []) =>
        cli(["products-update", "--records", file(name, text), "--quiet", ...extra, ...flagsOf(server)])
      const good = ndjson(products(2))

      const typo = yield* refused("typo.ndjson", `${good}{"source_id":"x","metdata":{"tier":"gold"}}\n`)
      expect(typo.code).toBe(1)
      expect(typo.stderr).toMatch(/^error: .*typo\.ndjson, line 3: metdata: unknown field "metdata" \(a product record has /m)
      // nothing was accepted: no summary, the error says it all
      expect(typo.stdout).toBe("")

      const twice = yield* refused("twice.ndjson", `${good}{"source_id":"sku-00001","metadata":{"tier":"x"}}\n`, [
        "--concurrency",
        "4"
      ])
      expect(twice.code).toBe(1)
      expect(twice.stderr).toMatch(/twice\.ndjson, line 3: source_id: "sku-00001" is also on line 2: a run takes each record once/)

      const price = yield* refused("price.ndjson", `{"source_id":"p","price":"12.50"}\n`)
      expect(price.stderr).toMatch(/price\.ndjson, line 1: price: expected number, actual "12\.50"/)

      const cell = yield* refused("cells.csv", "source_id,weight\np1,1\np2,heavy\n", ["--types", "weight=number"])
      expect(cell.code).toBe(1)
      expect(cell.stderr).toMatch(/cells\.csv, line 3, column "weight": "heavy" is not a number/)

      const large = yield* refused("large.ndjson", `{"source_id":"p","name":"${"x".repeat(3000)}"}\n`, ["--max-bytes", "2000"])
      expect(large.stderr).toMatch(/large\.ndjson, line 1: the record takes 3\d{3} bytes, more than the 1998 a body leaves for it/)

      const notCsv = yield* refused("plain.ndjson", good, ["--types", "weight=number"])
      expect(notCsv.code).toBe(1)
      expect(notCsv.stderr).toContain("--id-column, --types and --delimiter read CSV")

      const empty = yield* refused("empty.ndjson", "\n\n")
      expect(empty.code).toBe(1)
      expect(empty.stderr).toMatch(/empty\.ndjson has no records/)

      // the refusals came before anything was sent, but for the two good records of the first files
      for (const request of yield* bulkRequests("products")) expect(request.bodyBytes).toBeLessThan(500)

      // --dry-run checks every record and sends nothing
      const dry = yield* refused("dry.ndjson", `${good}{"source_id":"sku-00000"}\n`, ["--dry-run"])
      expect(dry.code).toBe(1)
      expect(dry.stderr).toMatch(/dry\.ndjson, line 3: source_id: "sku-00000" is also on line 1/)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("kill -9 mid-run, then --resume: every record reaches the server, at most the in-flight bodies twice", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = products(3000, "kill")
      const input = file("killed.ndjson", ndjson(records))
      const journal = path("killed.journal")
      const args = (extra: ReadonlyArray<string> = []) => [
        "products-update", "--records", input, "--max-bytes", "3000", "--journal", journal, "--quiet", ...extra,
        ...flagsOf(server)
      ]
      yield* server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "150 millis" }, path: "/v1/products/bulk/async" }] })
      const first = start(args())
      yield* Effect.sync(() => journalAccepted(journal)).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= 3 })
      )
      first.child.kill("SIGKILL")
      expect((yield* first.done).code).toBeNull()
      const held = journalAccepted(journal)
      const sentBefore = (yield* bulkRequests("products")).length
      yield* server.setFaults(undefined)

      const resumed = yield* cli(args(["--resume"]))
      expect(resumed.stderr).toBe("")
      expect(resumed.code).toBe(0)
      const total = requestsOf(resumed.stdout)
      expect(total).toBeGreaterThan(held + 10)
      const sentNow = (yield* bulkRequests("products")).length - sentBefore
      expect(sentNow).toBeLessThanOrEqual(total - held + 2)
      expect(sentNow).toBeGreaterThanOrEqual(total - held)
      expect(resumed.stdout).toMatch(new RegExp(`^journal +${held} chunks already accepted before, ${sentNow} sent now$`, "m"))
      for (const record of records) {
        const found = yield* stored("products", record.source_id)
        expect(found?.metadata, record.source_id).toEqual(record.metadata)
      }

      // a metadata command cannot resume a records journal
      const ids = file("ids.txt", "kill-00000\n")
      const other = yield* cli([
        "products-metadata", "--ids", ids, "--metadata", "{}", "--journal", journal, "--resume", "--quiet", ...flagsOf(server)
      ])
      expect(other.code).toBe(1)
      expect(other.stderr).toMatch(/records another run: its kind is records, this run's is metadata/)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("--await with --created-ids, --failed-ids and --report; unknown voucher codes exit 2; --mock needs no server", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const created = path("created.txt")
      const run = yield* cli([
        "products-update", "--records", file("reconcile.ndjson", ndjson([{ source_id: "old" }, { source_id: "new", name: "N" }])),
        "--await", "--created-ids", created, "--report", path("reconcile.json"), "--quiet", ...flagsOf(server)
      ])
      expect(run.code).toBe(0)
      expect(readFileSync(created, "utf8")).toBe("new\n")
      const report: BulkReport = JSON.parse(readFileSync(path("reconcile.json"), "utf8"))
      expect(report).toMatchObject({ status: "completed", total: 2, reconciliation: { created: 1, updated: 1 } })

      const failed = path("failed.txt")
      const codes = yield* cli([
        "vouchers-update", "--records", file("codes.ndjson", ndjson([{ code: "V1", metadata: { a: 1 } }, { code: "TYPO", metadata: { a: 2 } }])),
        "--await", "--failed-ids", failed, "--quiet", ...flagsOf(server)
      ])
      expect(codes.code).toBe(2)
      expect(readFileSync(failed, "utf8")).toBe("TYPO\n")
      expect(codes.stdout).toMatch(/^results +1 done, 1 failed$/m)

      const mock = yield* cli(["customers-update", "--records", file("mock.ndjson", ndjson([{ source_id: "c", email: "c@x.io" }])), "--mock", "--await", "--quiet"])
      expect(mock.code).toBe(0)
      expect(mock.stderr).toMatch(/^mock: MockVoucherifyServer listening on http:\/\/127\.0\.0\.1:\d+$/m)
      expect(mock.stdout).toMatch(/^results +1 done, 0 failed$/m)
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ records: { products: ["old"], vouchers: ["V1"] } }))), timeout)

  it.live("a bad credential exits 3; --max-quota-wait 0 stops at the first wait and exits 2", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const input = file("quota.ndjson", ndjson(products(200, "q")))
      const wrong = yield* cli([
        "products-update", "--records", input, "--quiet", "--base-url", server.baseUrl, "--app-id", server.appId,
        "--app-token", "wrong"
      ])
      expect(wrong.code).toBe(3)
      const quota = yield* cli([
        "products-update", "--records", input, "--max-bytes", "2000", "--max-quota-wait", "0", "--report",
        path("quota.json"), "--quiet", ...flagsOf(server)
      ])
      expect(quota.code).toBe(2)
      const report: BulkReport = JSON.parse(readFileSync(path("quota.json"), "utf8"))
      expect(report.accepted.chunks).toBe(1)
      expect(report.rejected[0]?.error).toMatchObject({ _tag: "RateLimitError", limitType: "bulk_api_calls" })
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ rateLimits: { bulkQuota: { calls: 1, window: "2 hours" } } }))), timeout)
})
