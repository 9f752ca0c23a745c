/** Timing helpers shared by the benchmarks. */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
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
 * moment hits both alike) and keeps each one's fastest round. `before`, when
 * given, runs untimed before every round of either side (a fresh server, so
 * that no round pays for what an earlier one left behind).
 */
export const timeBest = async (
  rounds: number,
  baseline: () => unknown,
  subject: () => unknown,
  before?: () => Promise<void>
): Promise<{ readonly baseline: number; readonly subject: number }> => {
  let best = { baseline: Infinity, subject: Infinity }
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (["baseline", "subject"] as const) : (["subject", "baseline"] as const)) {
      if (before !== undefined) await before()
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

/** One whole client process against a discarding server (bench/discardServer.mjs). */
export interface ProcessRun {
  /** Wall time from spawn to exit. */
  readonly ms: number
  /** Peak RSS, from bench/rssOnExit.mjs. */
  readonly maxRssMB: number
  /** What the server received from this process. */
  readonly sent: { readonly requests: number; readonly bytes: number; readonly ids?: number }
  readonly stdout: string
}

/**
 * Runs `node <args>` with the app keys and `baseUrl` in its environment,
 * measured whole; `baseUrl`'s `/stats` says what it received.
 */
export const runProcess = async (args: ReadonlyArray<string>, baseUrl: string): Promise<ProcessRun> => {
  const started = performance.now()
  const { stderr, stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "./bench/rssOnExit.mjs", ...args],
    {
      maxBuffer: 16 << 20,
      env: { ...process.env, VOUCHERIFY_APP_ID: "bench", VOUCHERIFY_APP_TOKEN: "bench", VOUCHERIFY_BASE_URL: baseUrl }
    }
  )
  const ms = performance.now() - started
  const sent = await (await fetch(`${baseUrl}/stats`)).json() as { requests: number; bytes: number; ids?: number }
  return { ms, maxRssMB: Number(/maxRssMB=(\d+)/.exec(stderr)?.[1]), sent, stdout }
}

/** The count on the `accepted` row of the CLI's summary (`accepted  1,000 ids in 1 chunk`, or records). */
export const acceptedOf = (stdout: string): number =>
  Number(/^accepted\s+([\d,]+) (?:ids?|records?) /m.exec(stdout)?.[1]?.replaceAll(",", ""))

/**
 * Runs every client `rounds` times, the order rotated each round (so that a
 * busy moment hits them alike); the fastest time and the smallest peak RSS
 * of each count. `runs` keeps every run, for checks on what was sent.
 */
export const bestOfRounds = async <C extends string>(
  clients: ReadonlyArray<C>,
  rounds: number,
  run: (client: C) => Promise<ProcessRun>
): Promise<{
  readonly best: Record<C, { ms: number; rss: number }>
  readonly runs: ReadonlyArray<{ readonly client: C; readonly run: ProcessRun }>
}> => {
  const best = Object.fromEntries(clients.map((client) => [client, { ms: Infinity, rss: Infinity }])) as Record<
    C,
    { ms: number; rss: number }
  >
  const runs: Array<{ client: C; run: ProcessRun }> = []
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < clients.length; k++) {
      const client = clients[(r + k) % clients.length]!
      const m = await run(client)
      if (process.env["BENCH_VERBOSE"]) {
        console.error(`  ${client} ${m.ms.toFixed(0)} ms ${m.maxRssMB} MB, ${m.sent.requests} requests, ${m.sent.bytes} bytes`)
      }
      best[client] = { ms: Math.min(best[client].ms, m.ms), rss: Math.min(best[client].rss, m.maxRssMB) }
      runs.push({ client, run: m })
    }
  }
  return { best, runs }
}
