/** Timing helpers shared by the benchmarks. */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

// `npm run bench` cannot pass --expose-gc to node: turn it on from here, so
// that every timed round starts from a collected heap, whatever ran before.
setFlagsFromString("--expose-gc")
const collect = runInNewContext("gc") as () => void

export interface Result {
  readonly name: string
  /** Milliseconds, or {@link unit}. */
  readonly baselineMs?: number
  readonly subjectMs?: number
  /** What the two figures count, when not milliseconds. */
  readonly unit?: string
  readonly ratio?: number
  readonly target?: number
  readonly pass: boolean
  readonly notes: ReadonlyArray<string>
}

/**
 * Runs baseline and subject alternately `rounds` times (so that a busy
 * moment hits both alike) and keeps each one's fastest round.
 */
export const timeBest = async (
  rounds: number,
  baseline: () => unknown,
  subject: () => unknown
): Promise<{ readonly baseline: number; readonly subject: number }> => {
  let best = { baseline: Infinity, subject: Infinity }
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (["baseline", "subject"] as const) : (["subject", "baseline"] as const)) {
      collect()
      const start = performance.now()
      await (which === "baseline" ? baseline() : subject())
      const ms = performance.now() - start
      best = { ...best, [which]: Math.min(best[which], ms) }
      if (process.env["BENCH_VERBOSE"]) console.error(`  ${which} ${ms.toFixed(0)} ms`)
    }
  }
  return best
}

/** A timed (or `unit`-measured) comparison as a result: the ratio of subject to baseline against its target. */
export const ratioResult = (
  name: string,
  times: { readonly baseline: number; readonly subject: number },
  target: number,
  notes: ReadonlyArray<string>,
  unit?: string
): Result => ({
  name,
  ...(unit !== undefined ? { unit } : {}),
  baselineMs: times.baseline,
  subjectMs: times.subject,
  ratio: times.subject / times.baseline,
  target,
  pass: times.subject / times.baseline <= target,
  notes
})
