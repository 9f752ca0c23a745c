/**
 * Inputs checked byte for byte (issue 16, cases 1 to 4), with the built
 * `bin` as a child process against loopback servers started here: control
 * characters in ids, a line longer than any id can be, an ids file that
 * changes while it is read, metadata numbers JavaScript cannot hold.
 */
import { describe, expect, inject, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { appendFileSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import type { Report as BulkReport } from "../src/BulkRun.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, idList, root, scratch } from "./support/cli.js"
import { expectBalanced } from "./support/report.js"

const { file, path } = scratch("cli-input-checks-")
const timeout = 120_000

const readReport = (report: string): BulkReport => JSON.parse(readFileSync(report, "utf8"))

const bulkPath = /\/metadata\/async$/

layer(MockVoucherifyServer.layer(), { excludeTestServices: true })("against the mock server", (it) => {
  const connect = Effect.map(MockVoucherifyServer.MockVoucherifyServer, (server) => ({
    server,
    flags: ["--base-url", server.baseUrl, "--app-id", server.appId, "--app-token", Redacted.value(server.appToken)],
    bulkRequests: Effect.map(server.requests, (requests) => requests.filter((r) => bulkPath.test(r.url)))
  }))

  it.effect("case 1: an id with a control character is refused with its line in every format, the report balanced", () =>
    Effect.gen(function*() {
      const { bulkRequests, flags, server } = yield* connect
      yield* server.reset
      const cases: ReadonlyArray<readonly [name: string, text: string, format: ReadonlyArray<string>, message: string]> = [
        [
          "two-columns.tsv",
          "sku-1\tRed ball\nsku-2\tBlue ball\n",
          [],
          `line 1: the id "sku-1\\tRed ball" contains a control character, a tab (U+0009): looks like a delimited file: use --column <name> (with the file saved as CSV)`
        ],
        [
          "cr-only.txt",
          "sku-1\rsku-2\rsku-3\r",
          [],
          `line 1: the id "sku-1\\rsku-2\\rsku-3" contains a control character, a carriage return (U+000D): line ends are CR only? Convert them to LF`
        ],
        // NUL, ESC, DEL and C1 controls take the same path from the same reader: BulkMetadata.lines.test.ts names each
        ["nul.txt", "a\r\nb\r\n\r\nc\u0000d\r\n", [], `line 4: the id "c\\u0000d" contains a control character, NUL (U+0000)`],
        [
          "tab.csv",
          "name,id\nball,p1\n\"with \"\"quotes\"\"\",\"p\t2\"\n",
          ["--column", "id"],
          `line 3: column "id" "p\\t2" contains a control character, a tab (U+0009)`
        ],
        [
          "esc.ndjson",
          `{"id":"p1"}\n{"id":"p\\u001b2"}\n`,
          ["--field", "id"],
          `line 2: field "id" "p\\u001b2" contains a control character, ESC (U+001B)`
        ]
      ]
      for (const [name, text, format, message] of cases) {
        const ids = file(name, text)
        const report = path(`${name}.report.json`)
        const run = yield* cli([
          "products-metadata", "--ids", ids, ...format, "--metadata", "{}", "--report", report, "--quiet", ...flags
        ])
        expect(run.code, name).toBe(1)
        expect(run.stderr).toContain(`${ids}, ${message}`)
        const written = readReport(report)
        expect(written.status).toBe("failed")
        expectBalanced(written)
      }
      // standard input, one id per line: the same rule
      const fromStdin = yield* cli(["products-metadata", "--ids", "-", "--metadata", "{}", "--quiet", ...flags], {}, "ok\nbad\u0007\n")
      expect(fromStdin.code).toBe(1)
      expect(fromStdin.stderr).toContain(`stdin, line 2: the id "bad\\u0007" contains a control character, U+0007`)
      // every bad line was within the first body: nothing was sent
      expect(yield* bulkRequests).toEqual([])

      // after bodies already sent: the run stops at the line, the ids before it accounted for, the bad one never sent
      const good = idList("prod", 1000)
      const report = path("late.report.json")
      const late = yield* cli([
        "products-metadata", "--ids", file("late.txt", `${good.join("\n")}\nprod\tshadow\n`), "--metadata", "{}",
        "--max-bytes", "2000", "--report", report, "--quiet", ...flags
      ])
      expect(late.code).toBe(1)
      expect(late.stderr).toContain(`line 1001: the id "prod\\tshadow" contains a control character, a tab (U+0009)`)
      const written = readReport(report)
      expect(written).toMatchObject({ status: "failed", total: 1000 })
      expect(written.accepted.items).toBeGreaterThan(0)
      expectBalanced(written)
      expect(yield* server.getMetadata("products", "prod\tshadow")).toEqual(Option.none())
    }), timeout)

  it.effect("case 2: a line longer than any id can be is refused as soon as it gets there, in bounded memory", () =>
    Effect.gen(function*() {
      const { bulkRequests, flags, server } = yield* connect
      yield* server.reset
      const frame = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata: { a: 1 } }))
      const room = 10_485_760 - frame
      const refusal = `line 1: the line runs past ${room + 2} bytes without a line break: longer than any id can be ` +
        `(the limit of 10485760 bytes leaves ${room} for an id next to the metadata)`

      // stdin that never ends: refused after about what a body leaves for an id, not read to an end
      const { bytesWritten, run } = yield* endlessLine(
        ["products-metadata", "--ids", "-", "--metadata", `{"a":1}`, "--quiet", ...flags]
      )
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`error: stdin, ${refusal}`)
      expect(bytesWritten).toBeGreaterThan(room)
      // what the pipe and the reads hold beyond the refusal point
      expect(bytesWritten).toBeLessThan(room + 4 * 1024 * 1024)

      // a 64 MB file without a line break: peak RSS about a normal run's (before: 313 MB; a run of two ids: about 120 MB)
      const big = path("no-newline.txt")
      writeFileSync(big, Buffer.alloc(64 * 1024 * 1024, "x"))
      const report = path("no-newline.report.json")
      const measured = yield* cli(
        ["products-metadata", "--ids", big, "--metadata", `{"a":1}`, "--report", report, "--quiet", ...flags],
        { NODE_OPTIONS: `--import=${join(root, "bench", "rssOnExit.mjs")}` }
      )
      expect(measured.code).toBe(1)
      expect(measured.stderr).toContain(`error: ${big}, ${refusal}`)
      const peak = Number(/maxRssMB=(\d+)/.exec(measured.stderr)![1])
      expect(peak).toBeLessThan(200)
      expect(readReport(report)).toMatchObject({ status: "failed", total: 0 })
      expectBalanced(readReport(report))

      // NDJSON and CSV records are bounded by a whole request body: the same, earlier with a smaller limit
      const env = { VOUCHERIFY_MAX_PAYLOAD_BYTES: "100000" }
      const ndjson = file("long.ndjson", `{"id":"a"}\n{"id":"${"b".repeat(300_000)}"}\n`)
      const byNdjson = yield* cli(["products-metadata", "--ids", ndjson, "--field", "id", "--metadata", "{}", "--quiet", ...flags], env)
      expect(byNdjson.code).toBe(1)
      expect(byNdjson.stderr).toContain(
        `${ndjson}, line 2: the line runs past 100000 bytes without a line break: longer than a whole request body (100000 bytes), so no record of an id`
      )
      const csv = file("long.csv", `name,id\nx,a\n"${"c".repeat(300_000)}",b\n`)
      const byCsv = yield* cli(["products-metadata", "--ids", csv, "--column", "id", "--metadata", "{}", "--quiet", ...flags], env)
      expect(byCsv.code).toBe(1)
      expect(byCsv.stderr).toContain(
        `${csv}, line 3: the record runs past 100000 bytes: longer than a whole request body (100000 bytes), so no record of an id`
      )
      expect(yield* bulkRequests).toEqual([])
    }), timeout)

  it.effect("case 4: metadata numbers JavaScript cannot hold are refused naming the key; the others are sent as written", () =>
    Effect.gen(function*() {
      const { bulkRequests, flags, server } = yield* connect
      yield* server.reset
      const ids = file("two.txt", "p1\np2\n")
      const refused = (metadata: ReadonlyArray<string>) =>
        cli(["products-metadata", "--ids", ids, ...metadata, "--quiet", ...flags])
      const unsafe = yield* refused(["--metadata", `{"erp_id":9007199254740993}`])
      expect(unsafe.code).toBe(1)
      expect(unsafe.stderr.trim()).toBe(`error: --metadata: metadata.erp_id: 9007199254740993 cannot be sent exactly (it would arrive as 9007199254740992); quote it as a string`)
      const nested = yield* refused(["--metadata", `{"a":{"list":[1,2,0.30000000000000001]}}`])
      expect(nested.stderr.trim()).toBe(`error: --metadata: metadata.a.list[2]: 0.30000000000000001 cannot be sent exactly (it would arrive as 0.3); quote it as a string`)
      const fromFile = file("big.json", `{\n  "erp_id": 12345678901234567890\n}\n`)
      const byFile = yield* refused(["--metadata-file", fromFile])
      expect(byFile.code).toBe(1)
      expect(byFile.stderr.trim()).toBe(
        `error: --metadata-file ${fromFile}: metadata.erp_id: 12345678901234567890 cannot be sent exactly (it would arrive as 12345678901234567000); quote it as a string`
      )
      const proto = yield* refused(["--metadata", `{"__proto__":{"admin":true}}`])
      expect(proto.code).toBe(1)
      expect(proto.stderr.trim()).toBe(
        `error: --metadata: metadata.__proto__: a key named "__proto__" cannot be sent: JavaScript takes it for the object's prototype; rename the key`
      )
      expect(yield* bulkRequests).toEqual([])

      // what JavaScript holds exactly goes as written: the same values, whatever the spelling
      const exact = `{"erp_id":"9007199254740993","max":9007199254740991,"ratio":0.1,"one":1.0,"hundred":1e2,"neg":-2.5E-3}`
      const sent = yield* cli(["products-metadata", "--ids", ids, "--metadata", exact, "--quiet", ...flags])
      expect(sent.code).toBe(0)
      expect(yield* server.getMetadata("products", "p1")).toEqual(
        Option.some({ erp_id: "9007199254740993", max: 9007199254740991, ratio: 0.1, one: 1, hundred: 100, neg: -0.0025 })
      )
    }), timeout)
})

/** A loopback bulk endpoint that holds the first request until released, and keeps every body. */
const holdingServer = Effect.acquireRelease(
  Effect.async<{
    readonly baseUrl: string
    readonly bodies: Array<string>
    readonly firstArrived: Promise<void>
    readonly release: () => void
    readonly close: () => void
  }>((resume) => {
    const bodies: Array<string> = []
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let arrived!: () => void
    const firstArrived = new Promise<void>((resolve) => (arrived = resolve))
    const server = createServer((request, response) => {
      let body = ""
      request.setEncoding("utf8")
      request.on("data", (piece) => (body += piece))
      request.on("end", () => {
        bodies.push(body)
        const answer = () => {
          const out = JSON.stringify({ async_action_id: `aa_${String(bodies.length).padStart(8, "0")}` })
          response.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(out) })
          response.end(out)
        }
        if (bodies.length === 1) {
          arrived()
          void released.then(answer)
        } else {
          answer()
        }
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        bodies,
        firstArrived,
        release,
        close: () => server.close()
      })))
  }),
  (server) =>
    Effect.sync(() => {
      server.release()
      server.close()
    })
)

describe("case 3: an ids file that changes while it is read", () => {
  const ids = Array.from({ length: 160_000 }, (_, i) => `sku-${String(i).padStart(6, "0")}`)
  const text = `${ids.join("\n")}\n`
  const size = Buffer.byteLength(text)

  for (const [name, appended] of [["a cut-off id", "sku-1725"], ["whole lines", "sku-900001\nsku-900002\n"]] as const) {
    it.live(`appended with ${name}: fails the run before the chunk holding its last line is sent, the report balanced`, () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* holdingServer
          // 1.76 MB, seven reads: the first request is held, and no body is built while two wait, so the
          // run has read at most one or two reads' worth when the file grows
          const idsFile = file(`growing-${appended.length}.txt`, text)
          const report = path(`growing-${appended.length}.report.json`)
          const { child, done } = startCli([
            "products-metadata", "--ids", idsFile, "--metadata", "{}", "--max-bytes", "100000", "--concurrency", "1",
            "--report", report, "--quiet", "--base-url", server.baseUrl, "--app-id", "a", "--app-token", "t"
          ])
          yield* Effect.promise(() => server.firstArrived)
          // the writer goes on while the run waits for its first answer
          appendFileSync(idsFile, appended)
          server.release()
          const run = yield* done
          expect(child.exitCode).toBe(1)
          expect(run.stderr).toContain(`error: bulk run stopped after`)
          expect(run.stderr).toContain(`${idsFile} changed while it was read (${size} bytes when opened, ${size + appended.length} now`)
          expect(run.stderr).toContain(`: its last chunk was not sent, so no cut-off id was; run again once the file is complete`)
          const sent = server.bodies.flatMap((body) => JSON.parse(body).source_ids as Array<string>)
          expect(sent.length).toBeGreaterThan(0)
          // every id sent is a whole line of the file as it was; its last line (and what was appended) never went
          expect(sent).toEqual(ids.slice(0, sent.length))
          expect(sent).not.toContain(ids[ids.length - 1])
          expect(sent.some((id) => appended.includes(id))).toBe(false)
          const written = readReport(report)
          expect(written.status).toBe("failed")
          expect(written.failure).toContain("changed while it was read")
          expect(written.accepted.items).toBe(sent.length)
          expectBalanced(written)
        })), timeout)
  }
})

/** The `bin` with its exit code, like `start` of support/cli.ts. */
const startCli = (args: ReadonlyArray<string>) => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VOUCHERIFY_")))
  const child = spawn(process.execPath, [inject("cliBin"), ...args], { cwd: root, env: clean, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (data) => (stdout += data))
  child.stderr.on("data", (data) => (stderr += data))
  const closed = new Promise<{ stdout: string; stderr: string }>((resolve) => child.on("close", () => resolve({ stdout, stderr })))
  return { child, done: Effect.promise(() => closed) }
}

/**
 * The `bin` reading one line from stdin that never ends: `x`s written as
 * fast as it reads them, until it exits. `bytesWritten`: how many it took.
 */
const endlessLine = (args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    new Promise<{ run: { code: number | null; stderr: string }; bytesWritten: number }>((resolve) => {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VOUCHERIFY_")))
      const child = spawn(process.execPath, [inject("cliBin"), ...args], { cwd: root, env: clean, stdio: ["pipe", "pipe", "pipe"] })
      const piece = Buffer.alloc(64 * 1024, "x")
      let bytesWritten = 0
      let exited = false
      let stderr = ""
      child.stderr.on("data", (data) => (stderr += data))
      child.stdout.resume()
      // the pipe breaks when the process exits: that is the end of the writing, not an error
      child.stdin.on("error", () => {})
      const write = () => {
        while (!exited && child.stdin.write(piece)) bytesWritten += piece.length
        if (!exited) bytesWritten += piece.length
      }
      child.stdin.on("drain", write)
      child.on("close", (code) => {
        exited = true
        resolve({ run: { code, stderr }, bytesWritten })
      })
      write()
    })
  )
