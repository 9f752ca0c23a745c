import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { Report as BulkReport } from "../src/BulkRun.js"
import * as AsyncActionView from "../src/cli/AsyncActionView.js"
import * as Progress from "../src/cli/Progress.js"
import * as Summary from "../src/cli/Summary.js"
import { AsyncAction } from "../src/VoucherifySchema.js"
import * as RunCommand from "../src/cli/RunCommand.js"

const snapshot: Progress.ProgressSnapshot = {
  itemsRead: 1_000_000,
  itemsUnchanged: 0,
  chunksSent: 2,
  bytesSent: 20_971_000,
  chunksAccepted: 2,
  itemsAccepted: 500_000,
  actionsCompleted: 1
}

describe("progress", () => {
  it("counts the items a state held unchanged as done in the share of the bar", () => {
    const state = { ...snapshot, itemsRead: 1_000, itemsUnchanged: 990, itemsAccepted: 10 }
    expect(RunCommand.acceptedShare(state, 1)).toBe(1)
    expect(RunCommand.acceptedShare({ ...state, itemsAccepted: 0 }, 1)).toBe(0.99)
  })

  it("picks the mode from --quiet and the terminal", () => {
    expect(Progress.modeFor(true, true)).toBe("none")
    expect(Progress.modeFor(false, true)).toBe("bar")
    expect(Progress.modeFor(false, undefined)).toBe("lines")
  })

  it("draws the share sent with an ETA, then the actions", () => {
    expect(Progress.formatBar(snapshot, 2000, { fraction: 0.25, awaiting: true })).toBe(
      "[██████░░░░░░░░░░░░░░░░░░] 25% · 1,000,000 ids · 2 chunks · 21.0 MB · 500,000 ids/s · ETA 6s"
    )
    expect(Progress.formatBar(snapshot, 2000, { fraction: 1, awaiting: true })).toBe(
      "[████████████░░░░░░░░░░░░] actions 1/2 done · 1,000,000 ids · 2 chunks · 21.0 MB"
    )
    expect(Progress.formatBar(snapshot, 2000, { fraction: undefined, awaiting: false })).toBe(
      "1,000,000 ids · 2 chunks · 21.0 MB · 500,000 ids/s · 1 action done"
    )
  })

  it("fits the bar to a width: the bar narrows, then the least useful pieces go, then the bar", () => {
    const sending = { fraction: 0.25, awaiting: true }
    const at = (width: number) => Progress.formatBar(snapshot, 2000, sending, width)
    expect(at(120)).toBe("[██████░░░░░░░░░░░░░░░░░░] 25% · 1,000,000 ids · 2 chunks · 21.0 MB · 500,000 ids/s · ETA 6s")
    expect(at(71)).toBe("[███░░░░░░░░░░] 25% · 1,000,000 ids · 2 chunks · 500,000 ids/s · ETA 6s")
    expect(at(39)).toBe("[██████░░░░░░░░░░░░░░░░░░] 25% · ETA 6s")
    expect(at(20)).toBe("[████░░░░░░░░░░] 25%")
    expect(at(8)).toBe("25%")
    expect(Progress.formatBar(snapshot, 2000, { fraction: undefined, awaiting: false }, 8)).toBe("1,000,0…")
    for (let width = 8; width <= 130; width++) {
      for (const phase of [sending, { fraction: 1, awaiting: true }, { fraction: undefined, awaiting: false }]) {
        expect(Progress.columnsOf(Progress.formatBar(snapshot, 2000, phase, width))).toBeLessThanOrEqual(width)
      }
      const waiting = { ...snapshot, waitingForQuotaUntil: 60_000 }
      expect(Progress.columnsOf(Progress.formatQuotaBar(waiting, 0, width))).toBeLessThanOrEqual(width)
    }
  })

  it("goes back over the rows the last bar takes once a narrower terminal rewraps it", () => {
    expect(Progress.backOver(71, 120)).toBe("\r\x1b[2K")
    expect(Progress.backOver(71, 72)).toBe("\r\x1b[2K")
    // 71 columns at 40: two rows, the cursor on the second
    expect(Progress.backOver(71, 40)).toBe("\r\x1b[1A\x1b[2K\x1b[1B\x1b[2K\x1b[1A")
    expect(Progress.backOver(119, 40)).toBe("\r\x1b[2A\x1b[2K\x1b[1B\x1b[2K\x1b[1B\x1b[2K\x1b[2A")
  })

  it.effect("draws the bar in the screen's width, redraws it on a resize, and ends its line", () =>
    Effect.gen(function*() {
      let columns = 120
      let resized: (() => void) | undefined
      const written: Array<string> = []
      const screen: Progress.Screen = {
        write: (text) => written.push(text),
        columns: () => columns,
        onResize: (listener) => {
          resized = listener
          return () => (resized = undefined)
        }
      }
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Progress.render({
          mode: "bar",
          snapshot: () => snapshot,
          fraction: () => 0.25,
          awaiting: true,
          screen
        })
        yield* TestClock.adjust("100 millis")
        columns = 40
        resized!()
      }))
      expect(resized).toBeUndefined()
      const lines = written.map((text) => text.replace(/\x1b\[\??\d*[A-Za-z]|\r|\n/g, ""))
      // written with the terminal's automatic wrap off, and on again after
      expect(written[0]).toMatch(/^\r\x1b\[\?7l.+\x1b\[\?7h$/)
      expect(lines[0]).toMatch(/^\[█+░+\] 25% · 1,000,000 ids · 2 chunks · 21\.0 MB · [\d,]+ ids\/s · ETA \d+s$/)
      // the resize: at once, in 39 columns, over the two rows the old line now takes
      expect(written[1]!.startsWith("\r\x1b[2A")).toBe(true)
      expect(Progress.columnsOf(lines[1]!)).toBeLessThan(40)
      expect(written.at(-1)).toBe("\n")
    }))

  it("agrees its words with their numbers", () => {
    const one = { ...snapshot, itemsRead: 1, chunksSent: 1, actionsCompleted: 1 }
    expect(Progress.formatBar(one, 1000, { fraction: undefined, awaiting: false })).toBe(
      "1 id · 1 chunk · 21.0 MB · 1 ids/s · 1 action done"
    )
    expect(Progress.formatLine(one, 1000)).toBe(
      "progress: 1 id read, 1 chunk sent (21.0 MB), 2 accepted, 1 action done, 1 ids/s, 1s elapsed"
    )
  })

  it.effect("prints a plain line every interval and a last one at the end", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      let current = Progress.emptySnapshot
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Progress.render({
          mode: "lines",
          snapshot: () => current,
          awaiting: false,
          every: "5 seconds",
          write: (text) => lines.push(text)
        })
        yield* TestClock.adjust("5 seconds")
        current = snapshot
        yield* TestClock.adjust("5 seconds")
      }))
      expect(lines).toEqual([
        "progress: 0 ids read, 0 chunks sent (0.0 MB), 0 accepted, 0 actions done, 0 ids/s, 5s elapsed\n",
        "progress: 1000000 ids read, 2 chunks sent (21.0 MB), 2 accepted, 1 action done, 100000 ids/s, 10s elapsed\n",
        "progress: 1000000 ids read, 2 chunks sent (21.0 MB), 2 accepted, 1 action done, 100000 ids/s, 10s elapsed\n"
      ])
    }))
})

describe("progress during a bulk-quota wait", () => {
  it("the bar says until when and how long", () => {
    const until = new Date(2026, 11, 1, 14, 5, 0).getTime()
    expect(Progress.formatQuotaWait(until, until - (41 * 60 + 12) * 1000)).toBe(
      "waiting for the bulk quota until 14:05 (41m12s)"
    )
  })

  it.effect("without a terminal: a line when the wait starts, then one a minute, then the usual lines again", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      let current: Progress.ProgressSnapshot = { ...snapshot, waitingForQuotaUntil: 10 * 60_000 }
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Progress.render({ mode: "lines", snapshot: () => current, awaiting: false, write: (text) => lines.push(text) })
        yield* TestClock.adjust("2 minutes")
        current = snapshot
        yield* TestClock.adjust("5 seconds")
      }))
      const waits = lines.filter((line) => line.includes("waiting for the bulk quota"))
      // at 5 s and 65 s; then the usual line at 125 s and the last one at the end
      expect(waits).toHaveLength(2)
      expect(waits[0]).toMatch(/^progress: waiting for the bulk quota until \d\d:\d\d \(9m55s\), 500000 ids accepted so far\n$/)
      expect(lines.filter((line) => line.startsWith("progress: 1000000 ids read"))).toHaveLength(2)
    }))

  it.effect("without a terminal: each of several waits is said as it starts, not at the next tick", () =>
    Effect.gen(function*() {
      const lines: Array<{ readonly at: number; readonly text: string }> = []
      let current: Progress.ProgressSnapshot = snapshot
      yield* Effect.scoped(Effect.gen(function*() {
        const clock = yield* Effect.clock
        const changed = yield* Progress.render({
          mode: "lines",
          snapshot: () => current,
          awaiting: false,
          write: (text) => lines.push({ at: clock.unsafeCurrentTimeMillis(), text })
        })
        const progress = (next: Progress.ProgressSnapshot) => {
          current = next
          changed()
        }
        // three waits of 18 s, 1 s apart: the engine says each as it starts and as it ends
        for (const start of [1_000, 20_000, 39_000]) {
          yield* TestClock.setTime(start)
          progress({ ...snapshot, waitingForQuotaUntil: start + 18_000 })
          // a chunk refused again in the same wait is no new wait
          progress({ ...snapshot, waitingForQuotaUntil: start + 18_000 })
          yield* TestClock.setTime(start + 18_000)
          progress(snapshot)
        }
        // one long wait: its start, then a line a minute
        yield* TestClock.setTime(60_000)
        progress({ ...snapshot, waitingForQuotaUntil: 60_000 + 150_000 })
        yield* TestClock.setTime(60_000 + 149_000)
      }))
      const waits = lines.filter((line) => line.text.includes("waiting for the bulk quota"))
      expect(waits.map((line) => line.at)).toEqual([1_000, 20_000, 39_000, 60_000, 120_000, 180_000])
      expect(waits[0]!.text).toMatch(/\(18s\), 500000 ids accepted so far\n$/)
      expect(waits[4]!.text).toMatch(/\(1m30s\)/)
    }))
})

const report: BulkReport = {
  status: "completed",
  unit: "ids",
  total: 30,
  chunks: 3,
  bytes: 3000,
  accepted: {
    items: 20,
    chunks: 2,
    actions: [
      { asyncActionId: "aa_1", chunkIndex: 0, offset: 0, count: 10, status: "DONE" },
      { asyncActionId: "aa_2", chunkIndex: 2, offset: 20, count: 10, status: "FAILED" }
    ]
  },
  rejected: [],
  unknown: [],
  notAttempted: [{ offset: 10, count: 10 }],
  durationMs: 2000
}

describe("summary", () => {
  it("tabulates the report and tells a complete run", () => {
    expect(Summary.table(report, { maxBytes: 2000, awaited: true })).toBe(
      [
        "status         completed",
        "ids            30",
        "chunks         3",
        "average fill   50.00% of 2,000 bytes",
        "bytes          3,000 (0.0 MB)",
        "wall time      2.00s",
        "ids/s          15",
        "accepted       20 ids in 2 chunks",
        "rejected       0 ids in 0 chunks",
        "unknown        0 ids in 0 chunks",
        "not attempted  10 ids",
        "actions        1 DONE, 1 FAILED"
      ].join("\n")
    )
    expect(Summary.isComplete(report, true)).toBe(false)
    const allDone = { ...report, accepted: { ...report.accepted, items: 30 }, notAttempted: [] }
    expect(Summary.isComplete(allDone, false)).toBe(true)
    expect(Summary.isComplete(allDone, true)).toBe(false)
    const records = { done: 28, failed: 2 }
    const noFailedActions = { ...allDone, accepted: { ...allDone.accepted, actions: [allDone.accepted.actions[0]!] } }
    expect(Summary.table(noFailedActions, { maxBytes: 2000, awaited: true, records })).toMatch(
      /^results +28 done, 2 failed$/m
    )
    expect(Summary.isComplete(noFailedActions, true, { ...records, failed: 0 })).toBe(true)
    expect(Summary.isComplete(noFailedActions, true, records)).toBe(false)
  })

  it("names the actions a run did not await when they fit two lines, else says where they are", () => {
    const queued = (n: number): BulkReport => ({
      ...report,
      accepted: {
        ...report.accepted,
        actions: Array.from({ length: n }, (_, i) => ({
          asyncActionId: `aa_${String(i).padStart(18, "0")}`,
          chunkIndex: i,
          offset: i * 10,
          count: 10,
          status: "ENQUEUED" as const
        }))
      }
    })
    const rows = (n: number, reportPath?: string) =>
      Summary.table(queued(n), { maxBytes: 2000, awaited: false, reportPath }).split("\n").slice(11).join("\n")
    expect(rows(1)).toBe("actions        1 queued (not awaited)\naction ids     aa_000000000000000000")
    expect(rows(6)).toBe([
      "actions        6 queued (not awaited)",
      "action ids     aa_000000000000000000 aa_000000000000000001 aa_000000000000000002",
      "               aa_000000000000000003 aa_000000000000000004 aa_000000000000000005"
    ].join("\n"))
    for (const line of rows(6).split("\n")) expect(line.length).toBeLessThanOrEqual(80)
    expect(rows(7)).toBe(
      "actions        7 queued (not awaited)\naction ids     7, too many to show: --report <path> lists them"
    )
    expect(rows(7, "report.json")).toMatch(/^action ids +7, listed in report\.json under accepted\.actions$/m)
  })
})

describe("async action view", () => {
  it("shows the fields that are there", () => {
    const action = AsyncAction.make({
      id: "aa_1",
      type: "PRODUCTS.METADATA_UPDATE",
      status: "DONE",
      progress: 100,
      request_id: "v-1",
      result: { done_count: 2, failed_count: 1, errors: [{ message: "code X not found" }] }
    })
    expect(AsyncActionView.toText(action)).toBe(
      [
        "id            aa_1",
        "type          PRODUCTS.METADATA_UPDATE",
        "status        DONE",
        "progress      100%",
        "request id    v-1",
        "done          2",
        "failed        1",
        "errors        1, first: code X not found"
      ].join("\n")
    )
    expect(JSON.parse(AsyncActionView.toJson(action))).toMatchObject({ id: "aa_1", result: { done_count: 2 } })
  })
})
