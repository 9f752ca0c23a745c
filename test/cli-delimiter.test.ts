/**
 * `--delimiter` for CSV inputs, as a spreadsheet's export needs it: ids
 * (`--column`) and records (`products-update`) from a CRLF file separated by
 * `;`, a tab or `|`; the hint that names the option when a header holds a
 * `;` or a tab and no id column; nothing on stdout before an error, with
 * `--dry-run` too. The built `bin` against a mock server in this process.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, flagsOf, scratch } from "./support/cli.js"

const { file } = scratch("cli-delimiter-")
const timeout = 120_000

/** A spreadsheet's export: `;` separated, CRLF, a quoted cell that holds a `;`. */
const semicolons = file("semi.csv", "sku;tier;weight\r\nsku-1;gold;1,5\r\nsku-2;\"sil;ver\";2\r\n")
const tabs = file("tabs.csv", "sku\ttier\r\nsku-1\tgold\r\n")
const pipes = file("pipes.csv", "sku|tier\nsku-1|gold\n")

const stored = (id: string) =>
  Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (server) =>
    Effect.map(server.getRecord("products", id), Option.getOrUndefined))

describe("--delimiter", () => {
  it.live("reads ids and records from a CRLF file separated by ';', by a tab, by '|'", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const ids = yield* cli([
        "products-metadata", "--ids", semicolons, "--column", "sku", "--delimiter", ";", "--metadata", `{"season":"winter"}`,
        "--await", "--quiet", ...flagsOf(server)
      ])
      expect(ids.stderr).toBe("")
      expect(ids.code).toBe(0)
      expect(ids.stdout).toMatch(/^accepted +2 ids in 1 chunk$/m)
      const records = yield* cli([
        "products-update", "--records", semicolons, "--id-column", "sku", "--delimiter", ";", "--await", "--quiet", ...flagsOf(server)
      ])
      expect(records.stderr).toBe("")
      expect(records.code).toBe(0)
      expect((yield* stored("sku-1"))?.metadata).toEqual({ season: "winter", tier: "gold", weight: "1,5" })
      expect((yield* stored("sku-2"))?.metadata).toEqual({ season: "winter", tier: "sil;ver", weight: "2" })
      const stdin = yield* cli(
        ["products-metadata", "--ids", "-", "--column", "sku", "--delimiter", "|", "--metadata", "{}", "--dry-run"],
        {},
        "sku|tier\r\nsku-1|gold\r\nsku-2|silver\r\n"
      )
      expect(stdin.stderr).toBe("")
      expect(stdin.stdout).toMatch(/^1 chunk for 2 ids, /m)
      for (const [path, delimiter] of [[tabs, "tab"], [tabs, "\\t"], [pipes, "|"]] as const) {
        const run = yield* cli(["products-update", "--records", path, "--id-column", "sku", "--delimiter", delimiter, "--dry-run"])
        expect(run.stderr, delimiter).toBe("")
        expect(run.stdout).toMatch(/^1 chunk for 1 record, /m)
      }
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ processingDelay: "0 millis" }))), timeout)

  it.live("without it, a header that holds ';' or a tab and no id column names the option; nothing on stdout, --dry-run included", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const ids = [
        "products-metadata", "--ids", semicolons, "--column", "sku", "--metadata", "{}"
      ]
      for (const extra of [["--dry-run"], ["--mock"], flagsOf(server)]) {
        const run = yield* cli([...ids, ...extra])
        expect(run).toEqual({
          code: 1,
          stdout: "",
          stderr: `error: ${semicolons}, line 1: the header has no column "sku" (columns: sku;tier;weight); ` +
            `its fields look separated by ";", not commas: give --delimiter ";"\n`
        })
      }
      const records = yield* cli(["products-update", "--records", semicolons, "--id-column", "sku", "--dry-run"])
      expect(records.code).toBe(1)
      expect(records.stdout).toBe("")
      expect(records.stderr).toContain(`its fields look separated by ";", not commas: give the option delimiter: ";" (--delimiter ";" in the CLI)`)
      const tabbed = yield* cli(["products-update", "--records", tabs, "--id-column", "sku", "--dry-run"])
      expect(tabbed.stdout).toBe("")
      expect(tabbed.stderr).toContain("its fields look separated by tabs, not commas: give the option delimiter: \"\\t\" (--delimiter tab in the CLI)")
      // a comma file with a wrong column says nothing of delimiters
      const commas = file("commas.csv", "id,tier\nsku-1,gold\n")
      const wrong = yield* cli(["products-metadata", "--ids", commas, "--column", "sku", "--metadata", "{}", "--dry-run"])
      expect(wrong.stderr).toBe(`error: ${commas}, line 1: the header has no column "sku" (columns: id, tier)\n`)
      expect(yield* server.requests).toEqual([])
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("a repeated id in a ';' file is refused before anything starts; --delimiter needs CSV and one character", () =>
    Effect.gen(function*() {
      const repeated = file("repeated.csv", "sku;tier\r\nsku-1;gold\r\nsku-2;gold\r\nsku-1;silver\r\n")
      const run = yield* cli(["products-update", "--records", repeated, "--id-column", "sku", "--delimiter", ";", "--mock"])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr).toMatch(/line 4.*sku-1.*line 2/)
      expect(run.stderr).not.toContain("mock:")
      const noColumn = yield* cli(["products-metadata", "--ids", semicolons, "--delimiter", ";", "--metadata", "{}", "--dry-run"])
      expect(noColumn.stderr).toContain("--delimiter reads CSV: give --column <name> too")
      expect(noColumn.code).toBe(1)
      const ndjson = yield* cli(["products-update", "--records", file("r.ndjson", "{}\n"), "--delimiter", ";", "--dry-run"])
      expect(ndjson.stderr).toContain("--id-column, --types and --delimiter read CSV")
      const long = yield* cli(["products-metadata", "--ids", semicolons, "--column", "sku", "--delimiter", ";;", "--metadata", "{}"])
      expect(long.stderr).toContain(`--delimiter must be one character such as ";" or "|", or tab, got ";;"`)
      expect(long.stdout).toBe("")
    }), timeout)
})
