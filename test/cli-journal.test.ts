/**
 * The CLI's journal, resume and reconciliation, run as child processes
 * against mock servers started in this process: a `kill -9` mid-run then
 * `--resume`, a finished run resumed, a changed run refused, a torn
 * journal tail, two processes on one journal, created and not-updated ids.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { appendFileSync, existsSync, readdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from "node:fs"
import type { Report as BulkReport } from "../src/BulkRun.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, flagsOf, idList, scratch, start } from "./support/cli.js"

const { file, path } = scratch("cli-journal-")
const timeout = 120_000
const metadata = JSON.stringify({ season: "winter" })
const bulkPath = /\/metadata\/async$/

const journalLines = (journal: string) =>
  existsSync(journal)
    ? readFileSync(journal, "utf8").split("\n").filter((line) => line.endsWith("}")).map((line) => JSON.parse(line))
    : []

/** The `requests` row of a summary: how many bodies the input packs into. */
const requestsOf = (stdout: string) => Number(stdout.match(/^chunks +([\d,]+)$/m)![1]!.replace(/,/g, ""))

const accepted = (journal: string) => journalLines(journal).filter((line) => line.type === "chunk_accepted").length

const bulkRequests = Effect.map(
  MockVoucherifyServer.MockVoucherifyServer,
  (server) => Effect.map(server.requests, (log) => log.filter((r) => bulkPath.test(r.url)))
).pipe(Effect.flatten)

/** 4,000 ids in about 20 requests of 2,500 bytes. */
const ids = idList("jrnl", 4000)
const runArgs = (server: MockVoucherifyServer.Service, ids: string, journal: string, extra: ReadonlyArray<string> = []) => [
  "products-metadata",
  "--ids",
  ids,
  "--metadata",
  metadata,
  "--max-bytes",
  "2500",
  "--journal",
  journal,
  "--quiet",
  ...extra,
  ...flagsOf(server)
]

describe("the journal and --resume", () => {
  it.live("kill -9 mid-run, then --resume: every id reaches the server, at most the in-flight chunks twice", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const idsFile = file("killed.txt", ids.join("\n"))
      const journal = path("killed.journal")
      // each bulk answer held back 150 ms, so that the run is still going when it is killed
      yield* server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "150 millis" }, path: "/v1/products/metadata/async" }] })
      const first = start(runArgs(server, idsFile, journal))
      yield* Effect.sync(() => accepted(journal)).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= 3 })
      )
      first.child.kill("SIGKILL")
      const killed = yield* first.done
      expect(killed.code).toBeNull()
      const held = accepted(journal)
      expect(held).toBeGreaterThanOrEqual(3)
      expect(held).toBeLessThan(ids.length / 200)
      const sentBefore = (yield* bulkRequests).length
      yield* server.setFaults(undefined)

      const resumed = yield* cli(runArgs(server, idsFile, journal, ["--resume"]))
      expect(resumed.stderr).toBe("")
      expect(resumed.code).toBe(0)
      // the chunks the journal held were not sent again: the rest, and at most the two in flight
      const total = requestsOf(resumed.stdout)
      const sentNow = (yield* bulkRequests).length - sentBefore
      expect(sentNow).toBeLessThanOrEqual(total - held + 2)
      expect(sentNow).toBeGreaterThanOrEqual(total - held)
      expect(resumed.stdout).toMatch(new RegExp(`^journal +${held} chunks? already accepted before, ${sentNow} sent now$`, "m"))
      // the store holds every id (the mock's actions end as they are accepted)
      const check = yield* server.checkMetadata("products", ids, JSON.parse(metadata))
      expect(check).toMatchObject({ checked: 4000, missing: 0, mismatched: 0 })

      // resuming a finished run sends nothing and exits 0
      const again = yield* cli(runArgs(server, idsFile, journal, ["--resume"]))
      expect(again.code).toBe(0)
      expect(again.stdout).toMatch(new RegExp(`^journal +${total} chunks? already accepted before, 0 sent now$`, "m"))
      expect((yield* bulkRequests).length).toBe(sentBefore + sentNow)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("two --resume started together after a kill -9: exactly one takes the stale lock and runs, the other is refused", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const idsFile = file("race.txt", ids.join("\n"))
      const journal = path("race.journal")
      // bulk answers held back, so that the run that wins is still running when the other one starts
      yield* server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "150 millis" }, path: "/v1/products/metadata/async" }] })
      const killed = start(runArgs(server, idsFile, journal))
      yield* Effect.sync(() => accepted(journal)).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= 3 })
      )
      killed.child.kill("SIGKILL")
      yield* killed.done
      // the lock names a process that is gone
      expect(JSON.parse(readFileSync(`${journal}.lock`, "utf8")).pid).toBe(killed.child.pid)
      const held = accepted(journal)
      const sentBefore = (yield* bulkRequests).length

      const a = start(runArgs(server, idsFile, journal, ["--resume"]))
      const b = start(runArgs(server, idsFile, journal, ["--resume"]))
      const [ranA, ranB] = yield* Effect.all([a.done, b.done], { concurrency: 2 })
      expect([ranA.code, ranB.code].sort()).toEqual([0, 1])
      const [winner, loser, winnerPid] = ranA.code === 0 ? [ranA, ranB, a.child.pid] : [ranB, ranA, b.child.pid]
      expect(loser.stderr).toContain(`the journal ${journal} is in use by process ${winnerPid}`)
      expect(loser.stdout).toBe("")
      // the chunks the journal held went once; the rest once, but for the ones in flight at the kill
      const total = requestsOf(winner.stdout)
      const sentNow = (yield* bulkRequests).length - sentBefore
      expect(sentNow).toBeGreaterThanOrEqual(total - held)
      expect(sentNow).toBeLessThanOrEqual(total - held + 2)
      expect(winner.stdout).toMatch(new RegExp(`^journal +${held} chunks already accepted before, ${sentNow} sent now$`, "m"))
      const check = yield* server.checkMetadata("products", ids, JSON.parse(metadata))
      expect(check).toMatchObject({ checked: 4000, missing: 0, mismatched: 0 })
      // one run wrote the journal after the kill: one "resumed" line, no claim or staging file left
      expect(journalLines(journal).filter((line) => line.type === "resumed")).toHaveLength(1)
      expect(existsSync(`${journal}.lock`)).toBe(false)
      expect(readdirSync(path("")).filter((name) => name.startsWith("race.journal."))).toEqual([])
      yield* server.setFaults(undefined)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("refuses changed metadata, a changed ids file and a journal in use; tolerates a torn last line", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const idsFile = file("changed.txt", ids.join("\n"))
      const journal = path("changed.journal")
      const done = yield* cli(runArgs(server, idsFile, journal))
      expect(done.code).toBe(0)
      const sent = (yield* bulkRequests).length

      // the same journal again without --resume: it exists
      const exists = yield* cli(runArgs(server, idsFile, journal))
      expect(exists.code).toBe(1)
      expect(exists.stderr).toContain(journal)

      const otherMetadata = yield* cli(
        runArgs(server, idsFile, journal, ["--resume"]).map((arg) => (arg === metadata ? "{\"season\":\"summer\"}" : arg))
      )
      expect(otherMetadata.code).toBe(1)
      expect(otherMetadata.stderr).toMatch(/records another run: its metadataSha256 is/)

      appendFileSync(idsFile, "\nextra_id")
      const otherIds = yield* cli(runArgs(server, idsFile, journal, ["--resume"]))
      expect(otherIds.code).toBe(1)
      expect(otherIds.stderr).toMatch(/records another run: its input\.(size|mtimeMs) is/)

      // a process that died while writing its last line
      const fresh = file("torn.txt", ids.join("\n"))
      const tornJournal = path("torn.journal")
      expect((yield* cli(runArgs(server, fresh, tornJournal))).code).toBe(0)
      appendFileSync(tornJournal, "{\"type\":\"chunk_acc")
      const torn = yield* cli(runArgs(server, fresh, tornJournal, ["--resume"]))
      expect(torn.stderr).toBe("")
      expect(torn.code).toBe(0)
      expect(torn.stdout).toMatch(
        new RegExp(`^journal +${requestsOf(torn.stdout)} chunks? already accepted before, 0 sent now$`, "m")
      )
      expect((yield* bulkRequests).length).toBe(sent * 2)

      // two processes on one journal: the second is refused while the first holds it
      yield* server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "300 millis" }, path: "/v1/products/metadata/async" }] })
      const busyIds = file("busy.txt", ids.join("\n"))
      utimesSync(busyIds, new Date(), new Date())
      const busyJournal = path("busy.journal")
      const first = start(runArgs(server, busyIds, busyJournal))
      yield* Effect.sync(() => journalLines(busyJournal).length).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= 1 })
      )
      const second = yield* cli(runArgs(server, busyIds, busyJournal, ["--resume"]))
      expect(second.code).toBe(1)
      expect(second.stderr).toContain(busyJournal)
      expect(second.stderr).toMatch(/in use|locked/i)
      first.child.kill("SIGINT")
      yield* first.done
      yield* server.setFaults(undefined)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("--resume without --journal, --created-ids without --await: exit 1 before anything is sent", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const idsFile = file("misuse.txt", "a\nb\n")
      const base = ["products-metadata", "--ids", idsFile, "--metadata", "{}", "--quiet", ...flagsOf(server)]
      const resume = yield* cli([...base, "--resume"])
      expect(resume.code).toBe(1)
      expect(resume.stderr).toContain("--resume needs --journal")
      const created = yield* cli([...base, "--created-ids", path("x.txt")])
      expect(created.code).toBe(1)
      expect(created.stderr).toContain("--created-ids needs --await")
      expect((yield* bulkRequests).length).toBe(0)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)
})

describe("reconciliation: --created-ids and --failed-ids", () => {
  const reconcileArgs = (server: MockVoucherifyServer.Service, target: string, idsFile: string, report: string) => [
    target,
    "--ids",
    idsFile,
    "--metadata",
    metadata,
    "--max-bytes",
    "5000",
    "--await",
    "--created-ids",
    path(`${report}.created`),
    "--failed-ids",
    path(`${report}.failed`),
    "--report",
    path(`${report}.json`),
    "--quiet",
    ...flagsOf(server)
  ]
  const lines = (name: string) => readFileSync(path(name), "utf8").split("\n").filter((line) => line !== "")

  it.live("1,000 new ids are all created; a second run over those and 500 more creates exactly the 500", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const first = idList("new", 1000)
      const run1 = yield* cli(reconcileArgs(server, "products-metadata", file("new.txt", first.join("\n")), "r1"))
      expect(run1.code).toBe(0)
      expect(run1.stdout).toMatch(/^created +1,000 \(did not exist before; check them for typos: .*r1\.created\)$/m)
      expect(run1.stdout).toMatch(/^not updated +0$/m)
      expect(lines("r1.created").sort()).toEqual(first)
      expect(lines("r1.failed")).toEqual([])
      const more = idList("more", 500)
      const run2 = yield* cli(reconcileArgs(server, "products-metadata", file("more.txt", [...first, ...more].join("\n")), "r2"))
      expect(run2.code).toBe(0)
      expect(run2.stdout).toMatch(/^created +500 /m)
      expect(lines("r2.created").sort()).toEqual(more)
      const report: BulkReport = JSON.parse(readFileSync(path("r2.json"), "utf8"))
      expect(report.reconciliation).toEqual({ created: 500, updated: 1000, notUpdated: 0, unread: [] })

      // vouchers: unknown codes are not created, they are listed as not updated
      const codes = yield* cli(reconcileArgs(server, "vouchers-metadata", file("codes.txt", "V1\nTYPO1\nV2\nTYPO2\n"), "r3"))
      expect(codes.code).toBe(2)
      expect(codes.stdout).toMatch(/^created +0$/m)
      expect(codes.stdout).toMatch(/^not updated +2: .*r3\.failed$/m)
      expect(lines("r3.failed")).toEqual(["TYPO1", "TYPO2"])

      // no report token in anything the runs printed or wrote
      const tokens = (yield* server.asyncActions).flatMap((action) =>
        (action.result?.reports ?? []).map((url) => new URL(Redacted.value(url)).searchParams.get("token")!)
      )
      expect(tokens.length).toBeGreaterThan(2)
      const outputs = [run1, run2, codes].map((r) => r.stdout + r.stderr).join("\n") +
        ["r1", "r2", "r3"].map((r) => readFileSync(path(`${r}.json`), "utf8")).join("\n")
      for (const token of tokens) expect(outputs).not.toContain(token)
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ records: { vouchers: ["V1", "V2"] } }))), timeout)

  it.live("a report URL on another host gets no request; the run says which report and exits 2", () =>
    Effect.gen(function*() {
      const elsewhere = yield* MockVoucherifyServer.MockVoucherifyServer.pipe(
        Effect.provide(MockVoucherifyServer.layer({ host: "127.0.0.2" }))
      )
      const run = yield* Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (server) =>
        cli(reconcileArgs(server, "products-metadata", file("away.txt", "a1\na2\n"), "r4"))).pipe(
        Effect.provide(MockVoucherifyServer.layer({ reportOrigin: elsewhere.baseUrl }))
      )
      expect(run.code).toBe(2)
      expect(run.stdout).toMatch(/^report not read +action aa_\w+ \(chunk 0\): .*not on a host that gets the credentials/m)
      expect(run.stderr).toMatch(/report files? (was|were) not read/)
      expect(`${run.stdout}${run.stderr}`).not.toContain("token=")
      expect(yield* elsewhere.requests).toEqual([])
      // what it could write, it wrote: the file exists, empty
      expect(readFileSync(path("r4.created"), "utf8")).toBe("")
    }).pipe(Effect.scoped), timeout)
})

describe("the bulk quota from the command line", () => {
  // one bulk call a window of two hours: the second chunk must wait (up to two hours, as the window is aligned)
  const quotaServer = MockVoucherifyServer.layer({ rateLimits: { bulkQuota: { calls: 1, window: "2 hours" } } })
  const quotaArgs = (server: MockVoucherifyServer.Service, report: string, extra: ReadonlyArray<string>) => [
    "products-metadata",
    "--ids",
    file(`${report}.txt`, idList("q", 600).join("\n")),
    "--metadata",
    metadata,
    "--max-bytes",
    "5000",
    "--report",
    path(`${report}.json`),
    ...extra,
    ...flagsOf(server)
  ]

  it.live("a wait is said on stderr without a terminal; Ctrl-C during it exits 130 with the report", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const run = start(quotaArgs(server, "waiting", ["--max-quota-wait", "3h"]))
      // the first plain progress line comes 5 seconds in, and says the run waits
      yield* Effect.async<void>((resume) => {
        let seen = ""
        run.child.stderr!.on("data", (data) => {
          seen += data
          if (seen.includes("waiting for the bulk quota until")) resume(Effect.void)
        })
      }).pipe(Effect.timeout("30 seconds"))
      run.child.kill("SIGINT")
      const ended = yield* run.done
      expect(ended.code).toBe(130)
      // the window is aligned to the wall clock: in its last minute the wait is said in seconds alone
      expect(ended.stderr).toMatch(/^progress: waiting for the bulk quota until \d\d:\d\d \((\d+m)?\d+s\), \d+ ids accepted so far$/m)
      const report: BulkReport = JSON.parse(readFileSync(path("waiting.json"), "utf8"))
      expect(report.status).toBe("interrupted")
      expect(report.accepted.chunks).toBe(1)
    }).pipe(Effect.provide(quotaServer)), timeout)

  it.live("--max-quota-wait 0 stops at the first wait: exit 2, the report names the rest", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const run = yield* cli(quotaArgs(server, "nowait", ["--max-quota-wait", "0", "--quiet"]))
      expect(run.code).toBe(2)
      const report: BulkReport = JSON.parse(readFileSync(path("nowait.json"), "utf8"))
      expect(report.status).toBe("failed")
      expect(report.accepted.chunks).toBe(1)
      expect(report.rejected[0]?.error).toMatchObject({ _tag: "RateLimitError", limitType: "bulk_api_calls" })
      const bad = yield* cli(quotaArgs(server, "bad", ["--max-quota-wait", "soon", "--quiet"]))
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain("--max-quota-wait must be a duration such as 0, 90s, 65m or 1h, got \"soon\"")
    }).pipe(Effect.provide(quotaServer)), timeout)
})

describe("files the options name", () => {
  it.live("a resume appends to --created-ids; a refused journal empties nothing; two options on one file, an idle option with --dry-run, a directory as --ids: exit 1", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const idsFile = file("append.txt", idList("app", 300).join("\n"))
      const journal = path("append.journal")
      const created = path("append.created")
      const args = (extra: ReadonlyArray<string>) => [
        "products-metadata", "--ids", idsFile, "--metadata", metadata, "--max-bytes", "2500", "--journal", journal,
        "--await", "--created-ids", created, "--quiet", ...extra, ...flagsOf(server)
      ]
      expect((yield* cli(args([]))).code).toBe(0)
      const first = readFileSync(created, "utf8")
      expect(first.split("\n").filter(Boolean)).toHaveLength(300)
      // the resume follows nothing again, and keeps what the first run found
      expect((yield* cli(args(["--resume"]))).code).toBe(0)
      expect(readFileSync(created, "utf8")).toBe(first)
      // a second process refused the lock must not empty the files of the first
      writeFileSync(`${journal}.lock`, JSON.stringify({ pid: process.pid }))
      const locked = yield* cli(args(["--resume"]))
      expect(locked.code).toBe(1)
      expect(readFileSync(created, "utf8")).toBe(first)
      unlinkSync(`${journal}.lock`)

      const base = ["products-metadata", "--ids", idsFile, "--metadata", "{}", "--quiet", ...flagsOf(server)]
      const same = yield* cli([...base, "--await", "--created-ids", idsFile])
      expect(same.code).toBe(1)
      expect(same.stderr).toContain("--ids and --created-ids name the same file")
      expect(readFileSync(idsFile, "utf8").split("\n")).toHaveLength(300)
      const idle = yield* cli([...base, "--dry-run", "--journal", path("idle.journal")])
      expect(idle.code).toBe(1)
      expect(idle.stderr).toContain("--dry-run sends nothing: --journal would do nothing with it")
      const directory = yield* cli(["products-metadata", "--ids", path(""), "--metadata", "{}", "--quiet", ...flagsOf(server)])
      expect(directory.code).toBe(1)
      expect(directory.stderr).toContain("is not a file")
      const wait = yield* cli([...base, "--max-quota-wait", "-5m"])
      expect(wait.code).toBe(1)
      expect(wait.stderr.trim()).toBe("error: --max-quota-wait must be a duration such as 0, 90s, 65m or 1h, got \"-5m\"")
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)
})
