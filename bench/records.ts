/**
 * Benchmark 8: 1,000,000 NDJSON product records (each with two to four
 * metadata keys, some non-ASCII) from a file through the built `bin`
 * (`products-update --records <file>`) to the loopback server that reads and
 * discards each body (bench/discardServer.mjs), against
 * bench/recordsBaseline.mjs: `readline`, `JSON.parse`, the same checks,
 * `JSON.stringify` into bodies under the limit, 2 requests in flight. Whole
 * processes: wall time from spawn to exit, peak RSS from
 * bench/rssOnExit.mjs; rounds alternate, the best of each counts. Targets:
 * wall <= 0.75x and peak RSS <= 1.0x the baseline's, and the request count
 * at the lower bound (or one more).
 */
import { once } from "node:events"
import { createWriteStream, existsSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bin, build } from "./build.js"
import type { Result } from "./measure.js"
import { acceptedOf, bestOfRounds, ratioResult, runProcess } from "./measure.js"
import { startDiscardServer } from "./server.js"

export const n = 1_000_000
const rounds = 3
const limit = 10_485_760
export const file = join(tmpdir(), `effect-voucherify-bench-${n}-records.ndjson`)

const tiers = ["gold", "silver", "bronze", "platinum"]
const cities = ["Zürich", "Kraków", "Łódź", "São Paulo", "Berlin", "Paris", "東京", "Oslo"]

/** Record `i`: two to four metadata keys, a non-ASCII city in most. */
export const recordOf = (i: number) => {
  const metadata: Record<string, unknown> = { tier: tiers[i % 4], weight: (i % 997) / 4 }
  if (i % 3 !== 0) metadata["city"] = cities[i % cities.length]
  if (i % 2 === 0) metadata["active"] = i % 4 === 0
  return { source_id: `prod_${String(i + 1).padStart(10, "0")}`, metadata }
}

/**
 * Writes the file unless it is there; returns the lower bound of requests:
 * bodies of `k` records take the records' bytes, `k - 1` commas and two
 * brackets, so all of them take at least `S + n + k` bytes in `k` bodies.
 */
export const ensureFile = async (): Promise<number> => {
  let bytes = 0
  const lines: Array<string> = []
  for (let i = 0; i < n; i++) {
    const json = JSON.stringify(recordOf(i))
    bytes += Buffer.byteLength(json)
    lines.push(json)
  }
  if (!existsSync(file) || statSync(file).size !== bytes + n) {
    const out = createWriteStream(file)
    for (let from = 0; from < n; from += 100_000) {
      if (!out.write(`${lines.slice(from, from + 100_000).join("\n")}\n`)) await once(out, "drain")
    }
    out.end()
    await once(out, "finish")
  }
  return Math.ceil((bytes + n) / (limit - 1))
}

type Client = "baseline" | "cli"

const argsOf = (client: Client, baseUrl: string): ReadonlyArray<string> =>
  client === "baseline"
    ? ["bench/recordsBaseline.mjs", file, `${baseUrl}/v1/products/bulk/async`]
    : [bin, "products-update", "--records", file, "--quiet"]

export const run = async (): Promise<ReadonlyArray<Result>> => {
  const [, bound] = await Promise.all([build(), ensureFile()])
  const server = await startDiscardServer()
  try {
    const clients: ReadonlyArray<Client> = ["baseline", "cli"]
    const { best, runs } = await bestOfRounds(clients, rounds, (client) => runProcess(argsOf(client, server.baseUrl), server.baseUrl))
    const sent = new Set(runs.map(({ run }) => `${run.sent.requests} requests, ${run.sent.bytes} bytes`))
    const requests = runs.at(-1)!.run.sent.requests
    const allAccepted = runs.every(({ client, run }) => client !== "cli" || acceptedOf(run.stdout) === n)
    // both clients packed the same bodies, or the comparison means nothing
    const same = sent.size === 1 && allAccepted
    const atBound = requests <= bound + 1
    const wall = ratioResult(
      "8. 1M NDJSON records from a file to a discarding server, wall: the built CLI vs readline + JSON.parse + JSON.stringify",
      { baseline: best.baseline.ms, subject: best.cli.ms },
      0.75,
      [
        `${rounds} rounds, whole processes; both make the same checks`,
        `every run sent the same bodies (${[...sent].join("; ")}): ${same}`,
        `requests ${requests}, lower bound ${bound}: ${atBound ? "met" : "MISSED"}`
      ]
    )
    const rss = ratioResult(
      "8. the same, peak RSS: the built CLI vs the baseline",
      { baseline: best.baseline.rss, subject: best.cli.rss },
      1.0,
      [],
      "MB"
    )
    return [{ ...wall, pass: wall.pass && same && atBound }, { ...rss, pass: rss.pass && same }]
  } finally {
    server.stop()
  }
}
