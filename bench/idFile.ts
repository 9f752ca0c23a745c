/**
 * Benchmark 6: 10,000,000 ids from a file (bench/memory.ts's) through the
 * built `bin` to a loopback server that reads and discards each body
 * (bench/discardServer.mjs, a process of its own), against plain Node
 * scripts posting the same bodies, 2 at a time, with undici:
 * bench/byteCopy.mjs, the floor, copies the bytes of each line straight into
 * three reused 10 MiB bodies with a JavaScript loop (and, second, with
 * Buffer.indexOf and Buffer.copy per line); bench/readlineLoop.mjs is what one
 * would write by hand, `readline` and `JSON.stringify`. Whole processes: wall time from
 * spawn to exit, peak RSS from bench/rssOnExit.mjs. Rounds rotate the
 * order; the best of each counts. Targets: wall <= 1.25x and peak RSS
 * <= 1.2x the byte copy's.
 */
import { bin, build } from "./build.js"
import type { Result } from "./measure.js"
import { acceptedOf, bestOfRounds, ratioResult, runProcess } from "./measure.js"
import { ensureIdsFile, file } from "./memory.js"
import { startDiscardServer } from "./server.js"

const n = 10_000_000
const rounds = 3

type Client = "byteCopy" | "byteCopyNative" | "cli" | "readline"

const argsOf = (client: Client, baseUrl: string): ReadonlyArray<string> => {
  const url = `${baseUrl}/v1/products/metadata/async`
  switch (client) {
    case "byteCopy":
      return ["bench/byteCopy.mjs", file, url]
    case "byteCopyNative":
      return ["bench/byteCopy.mjs", file, url, "native"]
    case "readline":
      return ["bench/readlineLoop.mjs", file, url]
    case "cli":
      return [bin, "products-metadata", "--ids", file, "--metadata", "{\"bench\":true}", "--quiet"]
  }
}

export const run = async (): Promise<ReadonlyArray<Result>> => {
  await Promise.all([build(), ensureIdsFile()])
  const server = await startDiscardServer()
  try {
    const clients: ReadonlyArray<Client> = ["byteCopy", "cli", "byteCopyNative", "readline"]
    const { best, runs } = await bestOfRounds(clients, rounds, (client) => runProcess(argsOf(client, server.baseUrl), server.baseUrl))
    const sent = new Set(runs.map(({ run }) => `${run.sent.requests} requests, ${run.sent.bytes} bytes`))
    const allAccepted = runs.every(({ client, run }) => client !== "cli" || acceptedOf(run.stdout) === n)
    // the three clients packed the same bodies, or the comparison means nothing
    const same = sent.size === 1 && allAccepted
    const { byteCopy, byteCopyNative, cli, readline } = best
    const versus = (name: string, other: { ms: number; rss: number }) =>
      `${name}: ${other.ms.toFixed(0)} ms, peak RSS ${other.rss} MB; the CLI takes ${(cli.ms / other.ms).toFixed(2)}x its time and ${
        (cli.rss / other.rss).toFixed(2)
      }x its memory`
    const wall = ratioResult("6. 10M ids from a file to a discarding server, wall: the built CLI vs the byte copy", {
      baseline: byteCopy.ms,
      subject: cli.ms
    }, 1.25, [
      `${rounds} rounds, whole processes`,
      versus("the byte copy with Buffer.indexOf + Buffer.copy per line", byteCopyNative),
      versus("readline + JSON.stringify loop", readline),
      `every run sent the same bodies (${[...sent].join("; ")}): ${same}`
    ])
    const rss = ratioResult(
      "6. the same, peak RSS: the built CLI vs the byte copy",
      { baseline: byteCopy.rss, subject: cli.rss },
      1.2,
      [],
      "MB"
    )
    return [{ ...wall, pass: wall.pass && same }, { ...rss, pass: rss.pass && same }]
  } finally {
    server.stop()
  }
}
