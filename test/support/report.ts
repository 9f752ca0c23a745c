/**
 * The accounting every report keeps, whatever stopped the run: each id read
 * is in exactly one range or counted unchanged (a run with a state), and
 * the ranges tile `[0, total - unchanged)`.
 */
import { expect } from "@effect/vitest"
import type { Report as BulkReport } from "../../src/BulkRun.js"

const sum = (ranges: ReadonlyArray<{ readonly count: number }>) => ranges.reduce((n, r) => n + r.count, 0)

export const expectBalanced = (report: BulkReport) => {
  const unchanged = report.unchanged ?? 0
  expect(report.accepted.items + sum(report.rejected) + sum(report.unknown) + sum(report.notAttempted) + unchanged).toBe(
    report.total
  )
  expect(report.accepted.items).toBe(sum(report.accepted.actions))
  // the ranges tile [0, total): no id counted twice
  const ranges = [...report.accepted.actions, ...report.rejected, ...report.unknown, ...report.notAttempted]
    .map((r) => [r.offset, r.offset + r.count] as const)
    .sort((a, b) => a[0] - b[0])
  let at = 0
  for (const [from, to] of ranges) {
    expect(from).toBe(at)
    at = to
  }
  expect(at).toBe(report.total - unchanged)
}
