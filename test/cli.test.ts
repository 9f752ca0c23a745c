/**
 * The `effect-voucherify` command run as a child process against a mock
 * server started in this process, the way an operator runs it.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Report as BulkReport } from "../src/BulkRun.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, idList, start } from "./support/cli.js"
import { expectBalanced } from "./support/report.js"

const dir = mkdtempSync(join(tmpdir(), "cli-test-"))
const timeout = 120_000

const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}


const readReport = (path: string): BulkReport => JSON.parse(readFileSync(path, "utf8"))

const metadata = { season: "summer", tier: 2 }

layer(MockVoucherifyServer.layer({ records: { vouchers: idList("CODE", 300) } }), { excludeTestServices: true })(
  "against the mock server",
  (it) => {
    const connect = Effect.map(MockVoucherifyServer.MockVoucherifyServer, (server) => ({
      server,
      flags: ["--base-url", server.baseUrl, "--app-id", server.appId, "--app-token", Redacted.value(server.appToken)]
    }))

    it.effect("updates every product, awaits the actions and writes a balanced report", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        const ids = idList("prod", 2000)
        const report = join(dir, "happy.json")
        const run = yield* cli([
          "products-metadata", "--ids", file("happy.txt", ids.join("\r\n") + "\r\n\r\n"),
          "--metadata", JSON.stringify(metadata), "--max-bytes", "2000", "--concurrency", "3",
          "--await", "--report", report, ...flags
        ])
        expect(run.stderr).not.toContain("error")
        expect(run.code).toBe(0)
        expect(run.stdout).toMatch(/^actions +\d+ DONE, 0 FAILED$/m)
        expect(run.stdout).toMatch(/^results +2,000 done, 0 failed$/m)
        expect(run.stderr).not.toContain(Redacted.value(server.appToken))
        expect(run.stdout).not.toContain(Redacted.value(server.appToken))
        const written = readReport(report)
        expect(written).toMatchObject({ status: "completed", total: 2000, accepted: { items: 2000 } })
        expect(written.chunks).toBeGreaterThan(10)
        expect(written.accepted.actions.every((action) => action.status === "DONE")).toBe(true)
        expectBalanced(written)
        const check = yield* server.checkMetadata("products", ids, metadata)
        expect(check).toMatchObject({ checked: 2000, missing: 0, mismatched: 0 })
      }), timeout)

    it.effect("reads a CSV column and an NDJSON field", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        const customers = idList("cust", 300)
        const csv = file("c.csv", `name,source_id\n${customers.map((id, i) => `"Name, ${i}",${id}`).join("\n")}\n`)
        const metadataFile = file("m.json", JSON.stringify(metadata))
        const byCsv = yield* cli([
          "customers-metadata", "--ids", csv, "--column", "source_id", "--metadata-file", metadataFile,
          "--max-bytes", "2000", "--await", "--quiet", ...flags
        ])
        expect(byCsv.code).toBe(0)
        expect(yield* server.checkMetadata("customers", customers, metadata)).toMatchObject({ missing: 0, mismatched: 0 })

        // vouchers are never created: two unknown codes are failed records, and exit 2
        const codes = [...idList("CODE", 300), "NO_SUCH_1", "NO_SUCH_2"]
        const ndjson = file("v.ndjson", codes.map((code) => JSON.stringify({ code, n: 1 })).join("\n"))
        const byNdjson = yield* cli([
          "vouchers-metadata", "--ids", ndjson, "--field", "code", "--metadata", JSON.stringify(metadata),
          "--max-bytes", "2000", "--await", "--quiet", ...flags
        ])
        expect(byNdjson.stdout).toMatch(/^results +300 done, 2 failed$/m)
        expect(byNdjson.code).toBe(2)
        expect(byNdjson.stderr).toContain("error: 2 records were not updated\n")
        expect(yield* server.checkMetadata("vouchers", codes.slice(0, 300), metadata)).toMatchObject({
          missing: 0,
          mismatched: 0
        })
      }), timeout)

    it.effect("--dry-run prints the chunk plan of ids from stdin, within the configured limit, and sends nothing", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        // no --max-bytes: the plan uses the configured limit, as a real run would
        const run = yield* cli([
          "products-metadata", "--ids", "-", "--metadata", JSON.stringify(metadata), "--dry-run", ...flags
        ], { VOUCHERIFY_MAX_PAYLOAD_BYTES: "5000" }, idList("prod", 1000).join("\n"))
        expect(run.code).toBe(0)
        expect(run.stdout).toMatch(/^ +chunk +offset +ids +bytes +fill$/m)
        expect(run.stdout).toMatch(/^ +0 +0 +\d+ +4,9\d\d +99\.\d\d%$/m)
        expect(run.stdout).toMatch(/chunks for 1,000 ids/)
        expect(run.stdout).toContain("dry run: nothing was sent")
        expect(run.stdout).toMatch(/of 5,000 bytes$/m)
        expect(yield* server.requests).toEqual([])
      }), timeout)

    it.effect("a malformed ids file and bad metadata exit 1 with the reason", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        const ndjson = file("bad.ndjson", `{"id":"a"}\n{"id":"b"}\n{"id":\n`)
        const badIds = yield* cli([
          "products-metadata", "--ids", ndjson, "--field", "id", "--metadata", "{}", "--quiet", ...flags
        ])
        expect(badIds.code).toBe(1)
        expect(badIds.stderr).toContain(`${ndjson}, line 3: not valid JSON`)
        expect(badIds.stderr).not.toMatch(/\n\s+at /)

        // one id per line, read as bytes: the same errors, naming the file and the line
        const lines = file("bad.txt", "a\r\nb\r\n\r\nc \r\n")
        const badLine = yield* cli(["products-metadata", "--ids", lines, "--metadata", "{}", "--quiet", ...flags])
        expect(badLine.code).toBe(1)
        expect(badLine.stderr).toContain(`${lines}, line 4: the id "c " has leading or trailing whitespace`)
        const blank = file("blank.txt", "\uFEFF\n  \n")
        for (const extra of [[], ["--dry-run"]]) {
          const empty = yield* cli(["products-metadata", "--ids", blank, "--metadata", "{}", "--quiet", ...extra, ...flags])
          expect(empty.code).toBe(1)
          expect(empty.stderr.trim()).toBe(`error: ${blank} has no ids`)
        }

        const badMetadata = yield* cli([
          "products-metadata", "--ids", file("ok.txt", "a\n"), "--metadata", "[1,2]", ...flags
        ])
        expect(badMetadata.code).toBe(1)
        // refused while the command line is parsed, in the CLI's one style
        expect(badMetadata.stderr).toBe(`error: --metadata must be a JSON object like {"key":"value"}, got an array\n`)
        // The bad ids stopped the run before any body was complete; bad metadata before anything.
        expect((yield* server.requests).length).toBe(0)
      }), timeout)

    it.effect("a CSV header without the column exits 1 before the run starts; stdin CSV is read whole", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        const report = join(dir, "never.json")
        const wrongFile = file("wrong.csv", "name,sku\nx,p1\n")
        const fromFile = yield* cli([
          "products-metadata", "--ids", wrongFile, "--column", "source_id", "--metadata", "{}", "--report", report, ...flags
        ])
        expect(fromFile.code).toBe(1)
        expect(fromFile.stderr.trim()).toBe(
          `error: ${wrongFile}, line 1: the header has no column "source_id" (columns: name, sku)`
        )
        const fromStdin = yield* cli(
          ["products-metadata", "--ids", "-", "--column", "source_id", "--metadata", "{}", "--report", report, ...flags],
          {},
          "name,sku\nx,p1\n"
        )
        expect(fromStdin.code).toBe(1)
        expect(fromStdin.stderr.trim()).toBe(`error: stdin, line 1: the header has no column "source_id" (columns: name, sku)`)
        // no summary, no report: the run never started
        expect(fromFile.stdout + fromStdin.stdout).toBe("")
        expect(() => readFileSync(report)).toThrow()
        expect(yield* server.requests).toEqual([])

        // more than a pipe buffer: the bytes the header check took from stdin are not lost
        const ids = idList("prod", 5_000)
        const csv = `"note, quoted",source_id\r\n${ids.map((id, i) => `"line ${i}\nand more",${id}`).join("\r\n")}\r\n`
        const plan = yield* cli(
          ["products-metadata", "--ids", "-", "--column", "source_id", "--metadata", "{}", "--dry-run", ...flags],
          {},
          csv
        )
        expect(plan.code).toBe(0)
        expect(csv.length).toBeGreaterThan(2 * 65_536)
        expect(plan.stdout).toMatch(/^1 chunk for 5,000 ids, /m)
      }), timeout)

    it.effect("a refused token exits 3 without echoing it", () =>
      Effect.gen(function*() {
        const { server } = yield* connect
        const secret = "wrong-token-0123456789"
        const run = yield* cli(
          ["products-metadata", "--ids", file("few.txt", "a\nb\n"), "--metadata", "{}", "--quiet"],
          { VOUCHERIFY_BASE_URL: server.baseUrl, VOUCHERIFY_APP_ID: server.appId, VOUCHERIFY_APP_TOKEN: secret }
        )
        expect(run.code).toBe(3)
        expect(run.stderr).toMatch(/Voucherify refused the credentials \(HTTP 401, key unauthorized\)/)
        expect(run.stdout + run.stderr).not.toContain(secret)
        const missing = yield* cli(["async-action", "get", "aa_1", "--base-url", server.baseUrl])
        expect(missing.code).toBe(3)
        // nothing listens on port 1: a configuration problem (exit 3) naming the base URL, not a partial failure
        const unreachable = yield* cli(
          ["products-metadata", "--ids", file("few.txt", "a\nb\n"), "--metadata", "{}", "--quiet"],
          { VOUCHERIFY_BASE_URL: "http://127.0.0.1:1", VOUCHERIFY_APP_ID: server.appId, VOUCHERIFY_APP_TOKEN: secret, VOUCHERIFY_MAX_RETRIES: "0" }
        )
        expect(unreachable.code).toBe(3)
        expect(unreachable.stderr).toContain("cannot reach http://127.0.0.1:1: ")
        // the same when the run goes on past each refused request
        const goingOn = yield* cli(
          ["products-metadata", "--ids", file("few.txt", "a\nb\n"), "--metadata", "{}", "--quiet", "--continue-on-error"],
          { VOUCHERIFY_BASE_URL: "http://127.0.0.1:1", VOUCHERIFY_APP_ID: server.appId, VOUCHERIFY_APP_TOKEN: secret, VOUCHERIFY_MAX_RETRIES: "0" }
        )
        expect(goingOn.code).toBe(3)
        expect(goingOn.stderr).toContain("cannot reach http://127.0.0.1:1: ")
        expect(unreachable.stderr).toContain("ECONNREFUSED")
        expect(unreachable.stdout + unreachable.stderr).not.toContain(secret)
        expect(missing.stderr).toBe(
          "error: no credentials: --app-id and --app-token are not given\n" +
            "hint: give --app-id and --app-token, or set VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN\n"
        )
      }), timeout)

    it.effect("with --continue-on-error, refused chunks exit 2 and are named in the report", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        yield* server.setFaults({
          seed: 7,
          rules: [{ fault: { _tag: "ServerError", status: 503 }, rate: 0.5, path: "/v1/products/metadata/async" }]
        })
        const ids = idList("prod", 1000)
        const report = join(dir, "partial.json")
        const run = yield* cli([
          "products-metadata", "--ids", file("partial.txt", ids.join("\n")), "--metadata", JSON.stringify(metadata),
          "--max-bytes", "2000", "--continue-on-error", "--report", report, "--quiet", ...flags
        ], { VOUCHERIFY_MAX_RETRIES: "0" })
        yield* server.setFaults(undefined)
        expect(run.code).toBe(2)
        expect(run.stderr).toContain(`error: not every id was accepted\nhint: ${report} names the ranges of ids that were not\n`)
        const written = readReport(report)
        expectBalanced(written)
        expect(written.status).toBe("completed")
        expect(written.rejected.length).toBeGreaterThan(0)
        expect(written.accepted.chunks).toBeGreaterThan(0)
        expect(written.rejected[0]!.error).toMatchObject({ _tag: "ServerError", status: 503 })
        // the named ranges are exactly the ids that did not get the metadata
        const rejected = written.rejected.flatMap((r) => ids.slice(r.offset, r.offset + r.count))
        yield* server.checkMetadata("products", rejected, metadata).pipe(
          Effect.tap((check) => expect(check.missing).toBe(rejected.length))
        )
      }), timeout)

    it.effect("Ctrl-C mid-run exits 130 with a balanced report", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        yield* server.setFaults({
          rules: [{ fault: { _tag: "Delay", duration: "400 millis" }, path: "/v1/products/metadata/async" }]
        })
        const report = join(dir, "interrupted.json")
        const { child, done } = start([
          "products-metadata", "--ids", file("long.txt", idList("prod", 3000).join("\n")),
          "--metadata", JSON.stringify(metadata), "--max-bytes", "2000", "--concurrency", "1",
          "--report", report, ...flags
        ])
        // interrupt once the run is clearly under way
        yield* server.requests.pipe(
          Effect.filterOrFail((requests) => requests.length >= 3),
          Effect.retry(Schedule.spaced("50 millis"))
        )
        child.kill("SIGINT")
        const run = yield* done
        yield* server.setFaults(undefined)
        expect(run.code).toBe(130)
        expect(run.stderr).toContain("interrupted: the report accounts for every id read so far")
        const written = readReport(report)
        expect(written.status).toBe("interrupted")
        expectBalanced(written)
        expect(written.accepted.items).toBeGreaterThan(0)
        expect(written.accepted.items).toBeLessThan(3000)
      }), timeout)

    it.effect("async-action get and await print the action", () =>
      Effect.gen(function*() {
        const { flags, server } = yield* connect
        yield* server.reset
        // its own action, whatever ran before
        const accepted = yield* Effect.promise(() =>
          fetch(`${server.baseUrl}/v1/products/metadata/async`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-app-id": server.appId,
              "x-app-token": Redacted.value(server.appToken)
            },
            body: JSON.stringify({ source_ids: ["prod_a", "prod_b"], metadata })
          }).then((response) => response.json() as Promise<{ async_action_id: string }>)
        )
        const [action] = yield* server.asyncActions
        expect(action!.id).toBe(accepted.async_action_id)
        const text = yield* cli(["async-action", "await", action!.id, ...flags])
        expect(text.code).toBe(0)
        expect(text.stdout).toMatch(new RegExp(`^id +${action!.id}$`, "m"))
        expect(text.stdout).toMatch(/^status +DONE/m)
        const json = yield* cli(["async-action", "get", action!.id, "--json", ...flags])
        expect(JSON.parse(json.stdout)).toMatchObject({ id: action!.id, status: "DONE", type: "PRODUCTS.METADATA_UPDATE" })
        // the report URLs are shown, without their token
        const [done] = yield* server.asyncActions
        const report = Redacted.value(done!.result!.reports![0]!)
        expect(text.stdout).toContain(report.split("?")[0])
        expect(JSON.parse(json.stdout).result.reports).toEqual([report.split("?")[0]])
        expect(text.stdout + json.stdout).not.toContain(new URL(report).searchParams.get("token"))
        const unknown = yield* cli(["async-action", "get", "aa_nope", ...flags])
        expect(unknown.code).toBe(1)
        expect(unknown.stderr).toMatch(/^error: Voucherify found no such resource \(HTTP 404, key not_found\)/)
      }), timeout)
  }
)

describe("usage", () => {
  it.live("an unknown option exits 1", () =>
    Effect.gen(function*() {
      const run = yield* cli(["products-metadata", "--ids", "x", "--metadata", "{}", "--bogus"])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain("--bogus")
    }), timeout)
})
