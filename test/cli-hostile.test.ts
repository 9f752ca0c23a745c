/**
 * The `bin` against servers that answer what they should not: secrets
 * echoed back, answers of hundreds of megabytes, async action ids that are
 * not path segments; and a run ended by SIGHUP, and followed for a given
 * time. Each is a child process against a loopback server this process
 * starts, as an operator would meet it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { existsSync, readFileSync } from "node:fs"
import type { Report as BulkReport } from "../src/BulkRun.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, idList, type Run, scratch, start } from "./support/cli.js"
import { hostile, huge, json } from "./support/hostile.js"
import { expectBalanced } from "./support/report.js"

const { file, path } = scratch("cli-hostile-")
const timeout = 120_000

const APP_TOKEN = "tok_APPsecret_4b7d21e9c0"
const OAUTH_TOKEN = "tok_OAUTHissued_93e1f0a7bd"
const REPORT_TOKEN = "rep0a1b2c3d4e5f60718293a4b5c6d7e8f9"

const keys = (baseUrl: string) => ["--base-url", baseUrl, "--app-id", "app_1", "--app-token", APP_TOKEN]

const readReport = (name: string): BulkReport => JSON.parse(readFileSync(path(name), "utf8"))

const everything = (runs: ReadonlyArray<Run>, files: ReadonlyArray<string>) =>
  [
    ...runs.flatMap((run) => [run.stdout, run.stderr]),
    ...files.filter((name) => existsSync(path(name))).map((name) => readFileSync(path(name), "utf8"))
  ].join("\n")

describe("secrets a server echoes back", () => {
  /**
   * A server (or a proxy before it) that writes every credential it was
   * sent, and the report's own token, into the action's errors, its unknown
   * fields, its request id, and the report file's rows.
   */
  const echoing = Effect.gen(function*() {
    const credentials = new Set<string>()
    const server = yield* hostile((request, response) => {
      const token = request.headers["x-app-token"]
      if (typeof token === "string") credentials.add(token)
      const bearer = request.headers["authorization"]?.replace(/^Bearer /, "")
      if (bearer !== undefined) credentials.add(bearer)
      const echo = [...credentials].join(" ")
      const action = (id: string, status: string) => ({
        id,
        type: "PRODUCTS.METADATA_UPDATE",
        status,
        request_id: `req ${echo}`,
        result: {
          done_count: 2,
          failed_count: 1,
          errors: [{ message: `X-App-Token ${echo}`, details: `token=${REPORT_TOKEN} ${echo}`, key: echo }],
          reports: [`${server.baseUrl}/v1/async-actions-reports/${id}.csv?token=${REPORT_TOKEN}`],
          [`echo ${echo}`]: echo
        }
      })
      if (request.url === "/v1/oauth/token") {
        return json(response, 200, { access_token: OAUTH_TOKEN, expires_in: 900, expires_at: 4102444800, token_type: "Bearer" })
      }
      if (request.url.endsWith("/metadata/async")) return json(response, 202, { async_action_id: "aa_echo1" })
      if (request.url === "/v1/async-actions/aa_echo1") return json(response, 200, action("aa_echo1", "DONE"))
      if (request.url === "/v1/async-actions/aa_failed") return json(response, 200, action("aa_failed", "FAILED"))
      if (request.url.startsWith("/v1/async-actions-reports/")) {
        response.writeHead(200, { "content-type": "text/csv" })
        return response.end(`source_id,found,updated,note ${echo}\n${echo},false,true,${REPORT_TOKEN}\nid_b,true,false,x\nid_c,true,true,${echo}\n`)
      }
      json(response, 404, { code: 404, message: `no ${request.url}` })
    })
    return { server, credentials }
  })

  it.live("reach no output or file of the tool, with the app keys and with OAuth", () =>
    Effect.gen(function*() {
      const { credentials, server } = yield* echoing
      const ids = file("echo.txt", "id_a\nid_b\nid_c\n")
      const runs: Array<Run> = []
      const files: Array<string> = []
      for (const [mode, env] of [["keys", {}], ["oauth", { VOUCHERIFY_OAUTH_SCOPES: "products async-actions" }]] as const) {
        files.push(`${mode}.json`, `${mode}.journal`, `${mode}.created`, `${mode}.failed`)
        const run = yield* cli([
          "products-metadata", "--ids", ids, "--metadata", "{\"a\":1}", "--await", "--quiet",
          "--report", path(`${mode}.json`), "--journal", path(`${mode}.journal`),
          "--created-ids", path(`${mode}.created`), "--failed-ids", path(`${mode}.failed`), ...keys(server.baseUrl)
        ], env)
        runs.push(run)
        // the run went through it all: one failed record, its report read
        expect(run.code).toBe(2)
        expect(run.stdout).toMatch(/^results +2 done, 1 failed$/m)
        expect(readReport(`${mode}.json`).reconciliation).toEqual({ created: 1, updated: 1, notUpdated: 1, unread: [] })
        expect(readFileSync(path(`${mode}.created`), "utf8")).toMatch(/^<redacted>( <redacted>)?\n$/)
        // each action in each format: `get` one an id (the other way round in the other mode), `await` both at once
        const [text, json] = mode === "keys" ? ["aa_echo1", "aa_failed"] : ["aa_failed", "aa_echo1"]
        for (const [id, format] of [[text, []], [json, ["--json"]]] as const) {
          const shown = yield* cli(["async-action", "get", id, ...format, ...keys(server.baseUrl)], env)
          runs.push(shown)
          expect(shown.code).toBe(0)
        }
        for (const format of [[], ["--json"]]) {
          const shown = yield* cli(["async-action", "await", "aa_echo1", "aa_failed", ...format, ...keys(server.baseUrl)], env)
          runs.push(shown)
          // a FAILED action is shown, and fails `await`
          expect(shown.code).toBe(2)
          expect(shown.stdout).toContain("aa_echo1")
          expect(shown.stdout).toContain("aa_failed")
          expect(shown.stderr).toMatch(/^error: Async action aa_failed \(PRODUCTS\.METADATA_UPDATE\) FAILED: X-App-Token <redacted>/m)
        }
      }
      // the secrets went out where they belong, and came back
      expect([...credentials].sort()).toEqual([APP_TOKEN, OAUTH_TOKEN].sort())
      expect(server.requests.some((r) => r.url.startsWith("/v1/async-actions-reports/"))).toBe(true)
      const all = everything(runs, files)
      expect(all).toContain("<redacted>")
      expect(all).toContain(`${server.baseUrl}/v1/async-actions-reports/aa_echo1.csv`)
      for (const secret of [APP_TOKEN, OAUTH_TOKEN, REPORT_TOKEN]) {
        expect(all).not.toContain(secret)
        expect(all).not.toContain(secret.slice(4, 16))
      }
    }).pipe(Effect.scoped), timeout)
})

describe("answers without a size limit", () => {
  const total = 200 * 1024 * 1024

  it.live("a 202 of 200 MB is not read past 1 MiB: the chunk is unknown, the report balanced, the server cut off", () =>
    Effect.gen(function*() {
      const server = yield* hostile((request, response) =>
        request.url.endsWith("/metadata/async")
          ? huge(response, { status: 202, total, head: "{\"async_action_id\":\"aa_1\",\"padding\":\"" })
          : json(response, 404, { code: 404 })
      )
      const run = yield* cli([
        "products-metadata", "--ids", file("huge.txt", idList("big", 50).join("\n")), "--metadata", "{}",
        "--quiet", "--report", path("huge.json"), ...keys(server.baseUrl)
      ])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain("the answer is larger than 1048576 bytes (maxResponseBytes); it was not read further")
      const report = readReport("huge.json")
      expect(report.unknown).toMatchObject([{ count: 50, error: { _tag: "ResponseDecodeError", status: 202, limit: 1048576 } }])
      expect(report.accepted.items).toBe(0)
      expectBalanced(report)
      // the connection was closed early: what the server got out is the socket buffers' worth, not 200 MB
      yield* Effect.sleep("200 millis")
      expect(server.bytesWritten()).toBeLessThan(48 * 1024 * 1024)
      expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(1)
    }).pipe(Effect.scoped), timeout)

  it.live("an async action of 200 MB: a Content-Length past the limit is refused unread; --await leaves it unfinished", () =>
    Effect.gen(function*() {
      const server = yield* hostile((request, response) =>
        request.url.endsWith("/metadata/async")
          ? json(response, 202, { async_action_id: "aa_big" })
          : request.url === "/v1/async-actions/aa_big"
          ? huge(response, { status: 200, total, head: "{\"id\":\"aa_big\",\"pad\":\"", length: true })
          : json(response, 404, { code: 404 })
      )
      const get = yield* cli(["async-action", "get", "aa_big", ...keys(server.baseUrl)])
      expect(get.code).toBe(2)
      expect(get.stderr).toContain(
        `the answer is larger than 1048576 bytes (maxResponseBytes): its Content-Length says ${total}; it was not read further`
      )
      const run = yield* cli([
        "products-metadata", "--ids", file("big-action.txt", "a\nb\n"), "--metadata", "{}", "--await",
        "--quiet", "--report", path("big-action.json"), ...keys(server.baseUrl)
      ])
      expect(run.code).toBe(2)
      const report = readReport("big-action.json")
      expect(report.accepted.actions).toMatchObject([{ asyncActionId: "aa_big", awaitError: expect.stringContaining("maxResponseBytes") }])
      expectBalanced(report)
      yield* Effect.sleep("200 millis")
      expect(server.bytesWritten()).toBeLessThan(48 * 1024 * 1024)
    }).pipe(Effect.scoped), timeout)
  it.live("an error answer of 200 MB is read no further than its first MiB, each attempt", () =>
    Effect.gen(function*() {
      const server = yield* hostile((request, response) =>
        request.url.endsWith("/metadata/async")
          ? huge(response, { status: 503, total, head: "<html><body>Service Unavailable " })
          : json(response, 404, { code: 404 })
      )
      const run = yield* cli([
        "products-metadata", "--ids", file("huge-error.txt", "a\nb\n"), "--metadata", "{}",
        "--quiet", "--report", path("huge-error.json"), ...keys(server.baseUrl)
      ], { VOUCHERIFY_MAX_RETRIES: "1" })
      expect(run.code).toBe(2)
      const report = readReport("huge-error.json")
      expect(report.rejected).toMatchObject([{ count: 2, error: { _tag: "ServerError", status: 503 } }])
      expectBalanced(report)
      expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(2)
      yield* Effect.sleep("200 millis")
      expect(server.bytesWritten()).toBeLessThan(2 * 48 * 1024 * 1024)
    }).pipe(Effect.scoped), timeout)
})

describe("async action ids that are not one path segment", () => {
  it.live("are undecodable: nothing is requested for them, the chunk is unknown", () =>
    Effect.gen(function*() {
      const bad = ["..", ".", "aa/../..", "%2e%2e", "aa_1?x=1", "aa 1", ""]
      let posts = 0
      const server = yield* hostile((request, response) =>
        request.method === "POST"
          ? json(response, 202, { async_action_id: bad[posts++] })
          : json(response, 200, { id: "aa_1", type: "PRODUCTS.METADATA_UPDATE", status: "DONE" })
      )
      // one run, a chunk of three ids for each bad id, one at a time
      const run = yield* cli([
        "products-metadata", "--ids", file("dots.txt", idList("a", 21).join("\n")), "--metadata", "{}", "--await",
        "--max-bytes", "60", "--concurrency", "1", "--continue-on-error",
        "--quiet", "--report", path("dots.json"), ...keys(server.baseUrl)
      ])
      expect(run.code).toBe(2)
      const report = readReport("dots.json")
      expect(report.unknown).toMatchObject(
        bad.map((_, chunkIndex) => ({ chunkIndex, count: 3, error: { _tag: "ResponseDecodeError", status: 202 } }))
      )
      expect(report.accepted.actions).toEqual([])
      expectBalanced(report)
      // a bulk call each, and not one request anywhere else
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(
        Array.from({ length: 7 }, () => "POST /v1/products/metadata/async")
      )
      const get = yield* cli(["async-action", "get", "..", ...keys(server.baseUrl)])
      expect(get.code).toBe(1)
      expect(get.stderr).toContain("\"..\" is not an async action id")
      expect(server.requests).toHaveLength(7)
    }).pipe(Effect.scoped), timeout)
})

describe("SIGHUP", () => {
  const slow = MockVoucherifyServer.layer({ processingDelay: "1 hour" })
  const connect = (server: MockVoucherifyServer.Service) => [
    "--base-url", server.baseUrl, "--app-id", server.appId, "--app-token", Redacted.value(server.appToken)
  ]
  const bulkRequests = (server: MockVoucherifyServer.Service) =>
    Effect.map(server.requests, (log) => log.filter((r) => r.url.endsWith("/metadata/async")).length)

  for (const terminal of ["open", "closed"] as const) {
    it.live(`ends a run as SIGINT does, with the terminal ${terminal}: exit 130, report balanced, journal resumable`, () =>
      Effect.gen(function*() {
        const server = yield* MockVoucherifyServer.MockVoucherifyServer
        const ids = file(`hup-${terminal}.txt`, idList("hup", 2000).join("\n"))
        const journal = path(`hup-${terminal}.journal`)
        const accepted = () =>
          existsSync(journal) ? readFileSync(journal, "utf8").split("\n").filter((l) => l.includes("\"chunk_accepted\"")).length : 0
        const args = ["products-metadata", "--ids", ids, "--metadata", "{\"m\":1}", "--max-bytes", "2000", "--journal", journal, "--quiet"]
        const run = start([...args, "--await", "--report", path(`hup-${terminal}.json`), ...connect(server)])
        // chunks accepted, their actions being followed (they take an hour)
        yield* Effect.sync(accepted).pipe(Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= 3 }))
        if (terminal === "closed") {
          // the terminal went away with the ssh session: whatever the run prints now fails
          run.child.stdout!.destroy()
          run.child.stderr!.destroy()
        }
        run.child.kill("SIGHUP")
        const ended = yield* run.done
        expect(ended.code).toBe(130)
        if (terminal === "open") expect(ended.stderr).toContain("interrupted: the report accounts for every id read so far")
        const report = readReport(`hup-${terminal}.json`)
        expect(report.status).toBe("interrupted")
        expect(report.accepted.items).toBeGreaterThan(0)
        expectBalanced(report)
        // the journal holds what the report says was accepted, and the lock is gone with the run
        const held = accepted()
        expect(held).toBe(report.accepted.chunks)
        expect(existsSync(`${journal}.lock`)).toBe(false)
        // resumed: only what the journal does not hold as accepted is sent
        const before = yield* bulkRequests(server)
        const resumed = yield* cli([...args, "--resume", ...connect(server)])
        expect(resumed.code).toBe(0)
        const sentNow = (yield* bulkRequests(server)) - before
        const total = Number(resumed.stdout.match(/^chunks +(\d+)$/m)![1])
        expect(sentNow).toBe(total - held)
        expect(resumed.stdout).toMatch(new RegExp(`^journal +${held} chunks already accepted before, ${sentNow} sent now$`, "m"))
      }).pipe(Effect.provide(slow)), timeout)
  }
})

describe("--await-timeout, and what to do about actions not followed to their end", () => {
  const slow = MockVoucherifyServer.layer({ processingDelay: "1 hour" })
  const connect = (server: MockVoucherifyServer.Service) => [
    "--base-url", server.baseUrl, "--app-id", server.appId, "--app-token", Redacted.value(server.appToken)
  ]

  it.live("gives up after the duration, and advises async-action await with the ids, or --resume: not a rerun", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const ids = file("wait.txt", idList("wait", 300).join("\n"))
      const journal = path("wait.journal")
      const run = yield* cli([
        "products-metadata", "--ids", ids, "--metadata", "{}", "--max-bytes", "2000", "--await", "--await-timeout", "1s",
        "--journal", journal, "--report", path("wait.json"), "--quiet", ...connect(server)
      ])
      expect(run.code).toBe(2)
      const report = readReport("wait.json")
      const actionIds = report.accepted.actions.map((action) => action.asyncActionId)
      expect(actionIds.length).toBeGreaterThan(1)
      expect(report.accepted.actions.every((action) => action.awaitError?.includes("after 1s"))).toBe(true)
      const advice = run.stderr.trim().split("\n").at(-1)!
      expect(advice).toContain(`effect-voucherify async-action await ${actionIds.join(" ")}`)
      expect(advice).toContain(`--journal ${journal} --resume`)
      expect(advice).toContain(`${path("wait.json")} lists them`)
      expect(advice).toMatch(/do not send them again/)
      expect(run.stderr).not.toMatch(/rerun/)
      // the advice, followed: the actions are polled, nothing is sent
      const sent = (yield* server.requests).filter((r) => r.url.endsWith("/metadata/async")).length
      const follow = yield* cli(["async-action", "await", ...actionIds, "--await-timeout", "500ms", ...connect(server)])
      expect(follow.code).toBe(2)
      expect(follow.stderr).toContain(`Stopped waiting for async action ${actionIds[0]} after`)
      expect((yield* server.requests).filter((r) => r.url.endsWith("/metadata/async")).length).toBe(sent)

      const misuse = yield* cli(["products-metadata", "--ids", ids, "--metadata", "{}", "--await-timeout", "5m", ...connect(server)])
      expect(misuse.code).toBe(1)
      expect(misuse.stderr).toContain("--await-timeout needs --await")
      const zero = yield* cli(["products-metadata", "--ids", ids, "--metadata", "{}", "--await", "--await-timeout", "0", ...connect(server)])
      expect(zero.code).toBe(1)
      expect(zero.stderr).toContain("--await-timeout must be a duration such as 90s, 65m or 1h, got \"0\"")
    }).pipe(Effect.provide(slow)), timeout)

  it.live("async-action await follows several actions to their end and prints each", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const run = yield* cli([
        "products-metadata", "--ids", file("quick.txt", idList("quick", 200).join("\n")), "--metadata", "{}",
        "--max-bytes", "2000", "--report", path("quick.json"), "--quiet", ...connect(server)
      ])
      expect(run.code).toBe(0)
      const actionIds = readReport("quick.json").accepted.actions.map((action) => action.asyncActionId)
      const follow = yield* cli(["async-action", "await", ...actionIds, "--json", "--await-timeout", "30s", ...connect(server)])
      expect(follow.code).toBe(0)
      const printed: Array<{ id: string; status: string }> = JSON.parse(follow.stdout)
      expect(printed.map((action) => [action.id, action.status])).toEqual(actionIds.map((id) => [id, "DONE"]))
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ processingDelay: "100 millis" }))), timeout)
})
