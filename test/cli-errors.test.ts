/**
 * The command's words, exactly: each failure as `error: …` on one line and
 * at most one `hint: …` line, with its documented exit code; checks that
 * need no server made before one starts; `--version` and `--help`.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import { version } from "../src/internal/version.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, idList, scratch } from "./support/cli.js"

const timeout = 60_000
const { file, path } = scratch("cli-errors-")
const ids = file("ids.txt", idList("prod", 20).join("\n"))
const metadata = `{"season":"summer"}`
const bulk = (...args: ReadonlyArray<string>) => ["products-metadata", "--ids", ids, "--metadata", metadata, ...args]

/** Every line of stderr is an `error:` line or the one `hint:` line after it. */
const expectErrorStyle = (stderr: string) => {
  const lines = stderr.trimEnd().split("\n")
  expect(lines[0]).toMatch(/^error: \S/)
  expect(lines.length).toBeLessThanOrEqual(2)
  if (lines.length === 2) expect(lines[1]).toMatch(/^hint: \S/)
}

describe("usage errors, before anything starts", () => {
  layer(MockVoucherifyServer.layer(), { excludeTestServices: true })((it) => {
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, string]> = [
      [
        "an unknown option, and the one it most likely meant",
        bulk("--metdata", "{}"),
        "error: unknown option --metdata\nhint: did you mean --metadata? See effect-voucherify products-metadata --help\n"
      ],
      [
        "an unknown option with no near name",
        bulk("--colour"),
        "error: unknown option --colour\nhint: see effect-voucherify products-metadata --help\n"
      ],
      [
        "an unknown command",
        ["product-metadata", "--ids", ids],
        "error: unknown command product-metadata\nhint: did you mean effect-voucherify products-metadata? See effect-voucherify --help\n"
      ],
      [
        "a required option missing",
        ["customers-metadata", "--metadata", metadata],
        "error: --ids is required\nhint: see effect-voucherify customers-metadata --help\n"
      ],
      [
        "an option without its value",
        ["vouchers-metadata", "--ids"],
        "error: --ids needs a value\nhint: see effect-voucherify vouchers-metadata --help\n"
      ],
      ["a missing argument", ["async-action", "get"], "error: <id> is missing\nhint: see effect-voucherify async-action get --help\n"],
      [
        "a value its option refuses",
        bulk("--concurrency", "abc"),
        `error: --concurrency must be a positive integer, got "abc"\n`
      ],
      [
        "metadata that is not an object",
        ["products-metadata", "--ids", ids, "--metadata", "[1]"],
        `error: --metadata must be a JSON object like {"key":"value"}, got an array\n`
      ],
      [
        "no metadata",
        ["products-metadata", "--ids", ids],
        "error: no metadata given\nhint: give --metadata '<json object>' or --metadata-file <path>\n"
      ],
      ["--column with --field", bulk("--column", "a", "--field", "b"), "error: give either --column or --field, not both\n"],
      [
        "an ids file that is not there",
        ["products-metadata", "--ids", path("missing.txt"), "--metadata", metadata],
        `error: cannot read the ids file ${path("missing.txt")}: no such file or directory\n`
      ],
      [
        "an empty ids file, refused before the mock server starts",
        ["products-metadata", "--ids", file("empty.txt", "\n  \n"), "--metadata", metadata, "--mock"],
        `error: ${path("empty.txt")} has no ids\n`
      ],
      [
        "a journal that exists, refused before the mock server starts",
        bulk("--journal", file("old.journal", ""), "--mock"),
        `error: the journal ${path("old.journal")} already exists\nhint: add --resume to continue its run, or give --journal another path\n`
      ],
      [
        "a cluster that does not exist",
        bulk("--cluster", "eu1"),
        `error: --cluster must be one of api, us1.api, as1.api, got "eu1"\n`
      ],
      [
        "an extra argument",
        bulk("extra", "--mock"),
        "error: unexpected argument extra\nhint: see effect-voucherify products-metadata --help\n"
      ]
    ]
    for (const [what, args, stderr] of cases) {
      it.effect(`${what}: exit 1, nothing on stdout`, () =>
        Effect.gen(function*() {
          const run = yield* cli(args)
          expect(run.stderr).toBe(stderr)
          expect(run.stdout).toBe("")
          expect(run.code).toBe(1)
          expectErrorStyle(run.stderr)
        }), timeout)
    }

    it.effect("no credentials: exit 3, the flags and variables named", () =>
      Effect.gen(function*() {
        const none = yield* cli(bulk())
        expect(none.stderr).toBe(
          "error: no credentials: --app-id and --app-token are not given\n" +
            "hint: give --app-id and --app-token, or set VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN\n"
        )
        expect(none.code).toBe(3)
        const half = yield* cli(bulk(), { VOUCHERIFY_APP_ID: "an-id" })
        expect(half.stderr).toBe("error: --app-token/VOUCHERIFY_APP_TOKEN is missing: it goes with --app-id\n")
        expect(half.code).toBe(3)
        const config = yield* cli(bulk("--app-id", "a", "--app-token", "t"), { VOUCHERIFY_MAX_RETRIES: "many" })
        expect(config.stderr).toMatch(/^error: invalid VOUCHERIFY_MAX_RETRIES: .*"many"\n$/)
        expect(config.code).toBe(3)
      }), timeout)
  })
})

layer(MockVoucherifyServer.layer(), { excludeTestServices: true })("a server", (it) => {
  const keys = (server: MockVoucherifyServer.Service) => ["--app-id", server.appId, "--app-token", Redacted.value(server.appToken)]

  it.effect("that cannot be reached: said once while retried, even with --quiet; no summary; exit 3", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const run = yield* cli([...bulk("--quiet", "--base-url", "http://127.0.0.1:1"), ...keys(server)], {
        VOUCHERIFY_MAX_RETRIES: "2"
      })
      const lines = run.stderr.trimEnd().split("\n")
      // 0.5 s and 1 s of backoff, each at most a fifth longer
      expect(lines[0]).toBe("cannot reach http://127.0.0.1:1: retrying for up to 2 s")
      expect(lines.slice(1)).toEqual([
        "error: cannot reach http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)",
        "hint: check --base-url/VOUCHERIFY_BASE_URL (or --cluster) and the network"
      ])
      expect(run.stdout).toBe("")
      expect(run.code).toBe(3)
    }), timeout)

  it.effect("that refuses the credentials: the summary, then the error and its hint; exit 3", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const run = yield* cli([...bulk("--quiet", "--base-url", server.baseUrl), "--app-id", server.appId, "--app-token", "wrong"])
      expect(run.stdout).toMatch(/^status +failed$/m)
      expect(run.stderr).toBe(
        "error: Voucherify refused the credentials (HTTP 401, key unauthorized): Unauthorized\n" +
          "hint: check --app-id and --app-token (or VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN)\n"
      )
      expect(run.code).toBe(3)
    }), timeout)

  it.effect("that takes every id: a summary in the report's words, plurals that agree", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      yield* server.reset
      const report = path("one.json")
      const one = file("one.txt", "prod_only\n")
      const run = yield* cli([
        "products-metadata", "--ids", one, "--metadata", metadata, "--await", "--quiet", "--report", report,
        "--base-url", server.baseUrl, ...keys(server)
      ])
      expect(run.code).toBe(0)
      expect(run.stderr).toBe(`report written to ${report}\n`)
      const rows = run.stdout.trimEnd().split("\n")
      expect(rows).toEqual(expect.arrayContaining([
        "ids            1",
        "chunks         1",
        "accepted       1 id in 1 chunk",
        "rejected       0 ids in 0 chunks",
        "not attempted  0 ids",
        "actions        1 DONE, 0 FAILED",
        "results        1 done, 0 failed",
        "updated        0",
        "created        1 (did not exist before; check them for typos)",
        "not updated    0"
      ]))
      // the report's fields carry the same words
      const written = JSON.parse(readFileSync(report, "utf8"))
      expect(written).toMatchObject({ chunks: 1, accepted: { items: 1, chunks: 1 }, reconciliation: { created: 1, updated: 0, notUpdated: 0 } })
      // again: the product exists now, and is updated
      const again = yield* cli([
        "products-metadata", "--ids", one, "--metadata", metadata, "--await", "--quiet", "--base-url", server.baseUrl, ...keys(server)
      ])
      expect(again.stdout).toMatch(/^updated +1 \(existed before\)$/m)
      expect(again.stdout).toMatch(/^created +0$/m)
    }), timeout)
})

describe("--version and --help", () => {
  layer(MockVoucherifyServer.layer(), { excludeTestServices: true })((it) => {
    it.effect("--version prints one line", () =>
      Effect.gen(function*() {
        for (const args of [["--version"], ["products-metadata", "--version"]]) {
          const run = yield* cli(args)
          expect(run.stdout).toBe(`${version}\n`)
          expect(run.code).toBe(0)
        }
      }), timeout)

    it.effect("--help names the program in every usage line, and each option's type, default and variable", () =>
      Effect.gen(function*() {
        const root = yield* cli(["--help"])
        expect(root.stdout).toMatch(/^Usage:\n {2}effect-voucherify <command> \[options\]$/m)
        for (const command of ["products-metadata", "async-action get <id>", "mock-server"]) {
          expect(root.stdout).toContain(`\n  ${command}\n`)
        }
        const bulkHelp = (yield* cli(["products-metadata", "-h"])).stdout
        const usage = bulkHelp.slice(bulkHelp.indexOf("Usage:\n") + 7, bulkHelp.indexOf("\n\n", bulkHelp.indexOf("Usage:")))
        for (const line of usage.split("\n").filter((l) => l.startsWith("  ") && !l.startsWith("    "))) {
          expect(line).toMatch(/^ {2}effect-voucherify products-metadata /)
        }
        expect(bulkHelp).toContain("\n  --ids <path|->  required; file path, or - for stdin\n")
        expect(bulkHelp).toContain("\n  --concurrency <n>  integer, at least 1; default 2\n      Requests in flight at the same time\n")
        expect(bulkHelp).toContain("\n  --app-token <token>  secret text; env VOUCHERIFY_APP_TOKEN\n")
        expect(bulkHelp).toContain("\n  --max-quota-wait <duration>  duration: 0, 90s, 65m, 1h; default 65m\n")
        expect(bulkHelp).not.toContain("A user-defined piece of text")
        const group = yield* cli(["async-action"])
        expect(group.code).toBe(0)
        expect(group.stdout).toMatch(/^Usage:\n {2}effect-voucherify async-action <command> \[options\]$/m)
      }), timeout)
  })
})
