/**
 * The end-of-run summary table, shared by the CLI and the demo.
 */
import type { BulkReport } from "../BulkMetadata.js"
import { count, duration, fill, megabytes } from "./Format.js"

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
    report.accepted.ids === report.totalIds &&
    (!awaited || (actions.FAILED === 0 && actions.other === 0 && (records?.failed ?? 0) === 0)) &&
    (report.reconciliation === undefined || (report.reconciliation.unread.length === 0 && report.reconciliation.notUpdated === 0))
}

/** Rows of `label value`, aligned. `maxBytes` is the limit the fill is measured against. */
export const table = (
  report: BulkReport,
  options: {
    readonly maxBytes: number
    readonly awaited: boolean
    readonly records?: RecordCounts | undefined
    /** Where `--created-ids` / `--failed-ids` wrote the ids, for the hints. */
    readonly createdIdsPath?: string | undefined
    readonly failedIdsPath?: string | undefined
  }
): string => {
  const seconds = report.durationMs / 1000
  const actions = actionCounts(report)
  const rows: Array<readonly [string, string]> = [
    ["status", report.status],
    ["ids", count(report.totalIds)],
    ["requests", count(report.chunks)],
    [
      "average fill",
      report.chunks === 0
        ? "-"
        : `${fill(report.bytes / report.chunks, options.maxBytes)} of ${count(options.maxBytes)} bytes`
    ],
    ["bytes", `${count(report.bytes)} (${megabytes(report.bytes)})`],
    ["wall time", seconds < 60 ? `${seconds.toFixed(2)}s` : duration(report.durationMs)],
    ["ids/s", seconds > 0 ? count(Math.round(report.totalIds / seconds)) : "-"],
    ["accepted", `${count(report.accepted.ids)} ids in ${count(report.accepted.chunks)} requests`],
    ["rejected", `${count(sum(report.rejected))} ids in ${count(report.rejected.length)} requests`],
    ["unknown", `${count(sum(report.unknown))} ids in ${count(report.unknown.length)} requests`],
    ["not attempted", `${count(sum(report.notAttempted))} ids`],
    [
      "actions",
      options.awaited
        ? `${count(actions.DONE)} DONE, ${count(actions.FAILED)} FAILED${
          actions.other > 0 ? `, ${count(actions.other)} unfinished` : ""
        }`
        : `${count(report.accepted.actions.length)} queued (not awaited)`
    ]
  ]
  const records = options.records
  if (records !== undefined) {
    rows.push(["records", `${count(records.done)} updated, ${count(records.failed)} failed`])
  }
  if (report.journal !== undefined) {
    rows.push([
      "journal",
      `${count(report.journal.chunksHeld)} requests already accepted before, ${count(report.journal.chunksSent)} sent now`
    ])
  }
  const reconciled = report.reconciliation
  if (reconciled !== undefined) {
    const hint = reconciled.created > 0
      ? ` (did not exist before; check them for typos${options.createdIdsPath ? `: ${options.createdIdsPath}` : ""})`
      : ""
    rows.push(["created", `${count(reconciled.created)}${hint}`])
    rows.push([
      "not updated",
      `${count(reconciled.notUpdated)}${reconciled.notUpdated > 0 && options.failedIdsPath ? `: ${options.failedIdsPath}` : ""}`
    ])
    for (const unread of reconciled.unread) {
      rows.push(["report not read", `action ${unread.asyncActionId} (request ${unread.chunkIndex}): ${unread.reason}`])
    }
  }
  if (report.failure !== undefined) rows.push(["stopped by", report.failure])
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join("\n")
}
