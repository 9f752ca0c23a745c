/**
 * The end-of-run summary table, shared by the CLI and the demo.
 */
import type { Report as BulkReport } from "../BulkRun.js"
import { count, counted, duration, fill, type Item, megabytes } from "./Format.js"

/** `20 ids in 2 chunks`, `1 record in 1 chunk` */
const itemsIn = (item: Item, n: number, chunks: number) => `${counted(n, item)} in ${counted(chunks, "chunk")}`

const sum = (ranges: ReadonlyArray<{ readonly count: number }>) => ranges.reduce((total, r) => total + r.count, 0)

/** What the awaited actions did to each record, from their results. */
export interface RecordCounts {
  readonly done: number
  readonly failed: number
}

/**
 * The records the awaited actions updated and failed, summed from the
 * report (an action can be `DONE` and still have failed some records: a
 * voucher code that does not exist is never created), or `undefined` when
 * an action that ended does not report its counts.
 */
export const recordCounts = (report: BulkReport): RecordCounts | undefined => {
  let done = 0
  let failed = 0
  for (const action of report.accepted.actions) {
    if (action.status !== "DONE" && action.status !== "FAILED") continue
    if (action.done === undefined) return undefined
    done += action.done
    failed += action.failed ?? 0
  }
  return { done, failed }
}

/** How many awaited actions ended in each state. */
export const actionCounts = (report: BulkReport) => {
  const counts = { DONE: 0, FAILED: 0, other: 0 }
  for (const action of report.accepted.actions) {
    if (action.status === "DONE" || action.status === "FAILED") counts[action.status]++
    else counts.other++
  }
  return counts
}

/**
 * Whether every id read was accepted and, when awaited, every action is
 * `DONE` without failing a record.
 */
export const isComplete = (report: BulkReport, awaited: boolean, records?: RecordCounts): boolean => {
  const actions = actionCounts(report)
  return report.status === "completed" &&
    report.accepted.items + (report.unchanged ?? 0) === report.total &&
    (!awaited || (actions.FAILED === 0 && actions.other === 0 && (records?.failed ?? 0) === 0)) &&
    (report.reconciliation === undefined || (report.reconciliation.unread.length === 0 && report.reconciliation.notUpdated === 0))
}

/** The widest a line of action ids gets beside its label (`not attempted  `, 15 columns): 80 in all. */
const valueWidth = 65

/**
 * The ids of the actions a run did not await, for `async-action await`:
 * all of them when they fit two lines, else where the report lists them.
 */
const queuedRows = (report: BulkReport, reportPath: string | undefined): Array<readonly [string, string]> => {
  const ids = report.accepted.actions.map((action) => action.asyncActionId)
  if (ids.length === 0) return []
  const lines: Array<string> = []
  for (const id of ids) {
    const last = lines.length - 1
    if (last >= 0 && lines[last]!.length + 1 + id.length <= valueWidth) lines[last] += ` ${id}`
    else lines.push(id)
  }
  if (lines.length <= 2) return lines.map((line, i) => [i === 0 ? "action ids" : "", line])
  return [[
    "action ids",
    reportPath === undefined
      ? `${count(ids.length)}, too many to show: --report <path> lists them`
      : `${count(ids.length)}, listed in ${reportPath} under accepted.actions`
  ]]
}

/**
 * Rows of `label value`, aligned. `maxBytes` is the limit the fill is
 * measured against. The labels are the report's own words: a chunk is one
 * bulk request; `results` are Voucherify's counts of the records the
 * awaited actions did (`done`, `failed`); `updated` records existed and were changed, `created` ones
 * did not exist (the upsert made them).
 */
export const table = (
  report: BulkReport,
  options: {
    readonly maxBytes: number
    readonly awaited: boolean
    readonly records?: RecordCounts | undefined
    /** What the input holds; `id` by default. */
    readonly item?: Item | undefined
    /** Where `--created-ids` / `--failed-ids` wrote the ids, for the hints. */
    readonly createdIdsPath?: string | undefined
    readonly failedIdsPath?: string | undefined
    /** Where `--report` wrote the report, which lists every action. */
    readonly reportPath?: string | undefined
  }
): string => {
  const seconds = report.durationMs / 1000
  const actions = actionCounts(report)
  const item = options.item ?? "id"
  const rows: Array<readonly [string, string]> = [
    ["status", report.status],
    [`${item}s`, count(report.total)],
    ["chunks", count(report.chunks)],
    [
      "average fill",
      report.chunks === 0
        ? "-"
        : `${fill(report.bytes / report.chunks, options.maxBytes)} of ${count(options.maxBytes)} bytes`
    ],
    ["bytes", `${count(report.bytes)} (${megabytes(report.bytes)})`],
    ["wall time", seconds < 60 ? `${seconds.toFixed(2)}s` : duration(report.durationMs)],
    [`${item}s/s`, seconds > 0 ? count(Math.round(report.total / seconds)) : "-"],
    ...(report.unchanged !== undefined
      ? [["unchanged", `${counted(report.unchanged, item)} (the state holds them as confirmed: not sent)`] as const]
      : []),
    ["accepted", itemsIn(item, report.accepted.items, report.accepted.chunks)],
    ["rejected", itemsIn(item, sum(report.rejected), report.rejected.length)],
    ["unknown", itemsIn(item, sum(report.unknown), report.unknown.length)],
    ["not attempted", counted(sum(report.notAttempted), item)],
    [
      "actions",
      options.awaited
        ? `${count(actions.DONE)} DONE, ${count(actions.FAILED)} FAILED${
          actions.other > 0 ? `, ${count(actions.other)} unfinished` : ""
        }`
        : `${count(report.accepted.actions.length)} queued (not awaited)`
    ]
  ]
  if (!options.awaited) rows.push(...queuedRows(report, options.reportPath))
  const records = options.records
  if (records !== undefined) {
    // Voucherify's done_count: records changed, whether they existed before or not
    rows.push(["results", `${count(records.done)} done, ${count(records.failed)} failed`])
  }
  if (report.journal !== undefined) {
    rows.push([
      "journal",
      `${counted(report.journal.chunksHeld, "chunk")} already accepted before, ${count(report.journal.chunksSent)} sent now`
    ])
  }
  const reconciled = report.reconciliation
  if (reconciled !== undefined) {
    const hint = reconciled.created > 0
      ? ` (did not exist before; check them for typos${options.createdIdsPath ? `: ${options.createdIdsPath}` : ""})`
      : ""
    rows.push(["updated", `${count(reconciled.updated)}${reconciled.updated > 0 ? " (existed before)" : ""}`])
    rows.push(["created", `${count(reconciled.created)}${hint}`])
    rows.push([
      "not updated",
      `${count(reconciled.notUpdated)}${reconciled.notUpdated > 0 && options.failedIdsPath ? `: ${options.failedIdsPath}` : ""}`
    ])
    for (const unread of reconciled.unread) {
      rows.push(["report not read", `action ${unread.asyncActionId} (chunk ${unread.chunkIndex}): ${unread.reason}`])
    }
  }
  if (report.failure !== undefined) rows.push(["stopped by", report.failure])
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join("\n")
}
