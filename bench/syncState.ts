/**
 * Benchmark 9: a nightly run with a sync state. 1,000,000 NDJSON product
 * records (benchmark 8's file) of which 1% changed since the state was
 * filled, through the built `bin` (`products-update --records <file>
 * --state <db>`) to a loopback server that accepts every body and finishes
 * every action with its report file (bench/discardServer.mjs --actions),
 * against the same run awaited without a state (`--await`: it sends all
 * 1,000,000 and reads their reports). Also the first run, which fills an
 * empty state. Whole processes, rounds alternated, the best of each counts.
 * Targets: with the state filled, wall <= 0.6x and peak RSS <= 1.0x the
 * run without a state, exactly 10,000 records sent; the first fill, wall
 * <= 1.5x.
 */
import { once } from "node:events"
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bin, build } from "./build.js"
import type { ProcessRun, Result } from "./measure.js"
import { acceptedOf, ratioResult, runProcess } from "./measure.js"
import { ensureFile, file as baseFile, n, recordOf } from "./records.js"
import { startDiscardServer } from "./server.js"

const rounds = 3
const changedFile = join(tmpdir(), `effect-voucherify-bench-${n}-records-1pct.ndjson`)
/** Every 100th record has another tier: 10,000 of 1,000,000. */
const changedEvery = 100

const ensureChangedFile = async () => {
  if (existsSync(changedFile) && statSync(changedFile).size === statSync(baseFile).size + n / changedEvery) return
  const out = createWriteStream(changedFile)
  let lines: Array<string> = []
  for (let i = 0; i < n; i++) {
    const record = recordOf(i)
    // "gold" → "gold!": one byte more per changed record
    if (i % changedEvery === 0) record.metadata["tier"] = `${String(record.metadata["tier"])}!`
    lines.push(JSON.stringify(record))
    if (lines.length === 100_000) {
      if (!out.write(`${lines.join("\n")}\n`)) await once(out, "drain")
      lines = []
    }
  }
  out.end()
  await once(out, "finish")
}

export const run = async (): Promise<ReadonlyArray<Result>> => {
  await Promise.all([build(), ensureFile()])
  await ensureChangedFile()
  const server = await startDiscardServer({ actions: true })
  const dir = mkdtempSync(join(tmpdir(), "effect-voucherify-bench-state-"))
  const filled = join(dir, "filled.db")
  try {
    const cli = (args: ReadonlyArray<string>) => runProcess([bin, "products-update", "--quiet", ...args], server.baseUrl)
    const best = { plain: Infinity, fill: Infinity, state: Infinity, plainRss: Infinity, stateRss: Infinity }
    const checks: Array<string> = []
    let ok = true
    const expect = (what: string, run: ProcessRun, ids: number, accepted: number) => {
      const good = run.sent.ids === ids && acceptedOf(run.stdout) === accepted
      if (!good) checks.push(`${what}: sent ${run.sent.ids} records, accepted ${acceptedOf(run.stdout)} (expected ${ids})`)
      ok &&= good
    }
    for (let r = 0; r < rounds; r++) {
      const fresh = join(dir, `fill-${r}.db`)
      const copy = join(dir, `state-${r}.db`)
      const steps: Array<() => Promise<void>> = [
        async () => {
          const plain = await cli(["--records", changedFile, "--await"])
          expect("without a state", plain, n, n)
          best.plain = Math.min(best.plain, plain.ms)
          best.plainRss = Math.min(best.plainRss, plain.maxRssMB)
        },
        async () => {
          const fill = await cli(["--records", baseFile, "--state", fresh])
          expect("first fill", fill, n, n)
          best.fill = Math.min(best.fill, fill.ms)
          if (!existsSync(filled)) copyFileSync(fresh, filled)
          rmSync(fresh, { force: true })
        },
        async () => {
          if (!existsSync(filled)) return
          copyFileSync(filled, copy)
          const state = await cli(["--records", changedFile, "--state", copy])
          expect("with the state", state, n / changedEvery, n / changedEvery)
          best.state = Math.min(best.state, state.ms)
          best.stateRss = Math.min(best.stateRss, state.maxRssMB)
          rmSync(copy, { force: true })
        }
      ]
      // the fill first in the first round (the state runs need its file), then rotated
      const order = r === 0 ? [1, 0, 2] : r === 1 ? [2, 1, 0] : [0, 2, 1]
      for (const step of order) await steps[step]!()
    }
    const notes = [
      `${rounds} rounds, whole processes; the server finishes every action with its report file`,
      `exactly ${n} records sent without a state and by the first fill, ${n / changedEvery} with the state: ${ok ? "true" : checks.join("; ")}`
    ]
    const wall = ratioResult(
      "9. 1M NDJSON records, 1% changed, with a filled sync state vs the same run awaited without one, wall",
      { baseline: best.plain, subject: best.state },
      0.6,
      notes
    )
    const rss = ratioResult("9. the same, peak RSS", { baseline: best.plainRss, subject: best.stateRss }, 1.0, [], "MB")
    const fill = ratioResult(
      "9. the first run, filling an empty state, vs the same run awaited without one, wall",
      { baseline: best.plain, subject: best.fill },
      1.5,
      []
    )
    return [{ ...wall, pass: wall.pass && ok }, { ...rss, pass: rss.pass && ok }, { ...fill, pass: fill.pass && ok }]
  } finally {
    server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
