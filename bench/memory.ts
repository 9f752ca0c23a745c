/**
 * Benchmark 3: 10,000,000 ids streamed from a file to the loopback server,
 * peak RSS of the client <= 300 MB. The client measured is what an operator
 * runs: the built CLI (`dist/cli/main.js`, after `npm run build`). For
 * contrast, a harness run from the sources with tsx (whose loader alone
 * adds about 70 MB) streams the same file, then reads it into one array
 * first. Server and clients each run in their own process.
 */
import { execFile } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { bin, build } from "./build.js"
import { writeIdsFile } from "./ids.js"
import type { Result } from "./measure.js"
import { acceptedOf } from "./measure.js"
import { startServer } from "./server.js"

const n = 10_000_000
/** 10 M ids, one a line: also the input of bench/idFile.ts. */
export const file = join(tmpdir(), `effect-voucherify-bench-${n}-ids.txt`)

/** Writes {@link file} unless it is there already. */
export const ensureIdsFile = async (): Promise<void> => {
  if (!existsSync(file) || statSync(file).size < n * 16) await writeIdsFile(file, n)
}

/** The tsx harness; its peak RSS comes from bench/rssOnExit.mjs. */
const client = async (mode: "stream" | "array", server: string) => {
  const { stderr, stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "./bench/rssOnExit.mjs", "--import", "tsx", "bench/memoryClient.ts", mode, file, server],
    { maxBuffer: 1 << 20 }
  )
  const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
    ms: number
    total: number
    accepted: number
    requests: number
  }
  return { ...result, maxRssMB: Number(/maxRssMB=(\d+)/.exec(stderr)?.[1]) }
}

/** The built CLI on the file, with `--quiet`; its peak RSS comes from bench/rssOnExit.mjs. */
const cli = async (server: { baseUrl: string; appId: string; appToken: string }) => {
  await build()
  const started = performance.now()
  const { stderr, stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "./bench/rssOnExit.mjs",
      bin,
      "products-metadata",
      "--ids",
      file,
      "--metadata",
      "{\"bench\":true}",
      "--quiet"
    ],
    {
      maxBuffer: 16 << 20,
      env: {
        ...process.env,
        VOUCHERIFY_APP_ID: server.appId,
        VOUCHERIFY_APP_TOKEN: server.appToken,
        VOUCHERIFY_BASE_URL: server.baseUrl,
        VOUCHERIFY_TIMEOUT: "2 minutes"
      }
    }
  )
  const accepted = acceptedOf(stdout)
  return {
    ms: Math.round(performance.now() - started),
    maxRssMB: Number(/maxRssMB=(\d+)/.exec(stderr)?.[1]),
    accepted
  }
}

export const run = async (): Promise<Result> => {
  await ensureIdsFile()
  const server = await startServer()
  try {
    const serverJson = JSON.stringify({ baseUrl: server.baseUrl, appId: server.appId, appToken: server.appToken })
    const built = await cli(server)
    const streamed = await client("stream", serverJson)
    const array = await client("array", serverJson)
    const ok = built.accepted === n && streamed.accepted === n && array.accepted === n
    return {
      name: "3. memory, 10M ids from a file",
      pass: ok && built.maxRssMB <= 300,
      notes: [
        `the built CLI streaming the file: peak RSS ${built.maxRssMB} MB, ${(built.ms / 1000).toFixed(1)} s`,
        `tsx harness, streamed: peak RSS ${streamed.maxRssMB} MB, ${streamed.requests} requests, ${
          (streamed.ms / 1000).toFixed(1)
        } s`,
        `tsx harness, read into one array first: peak RSS ${array.maxRssMB} MB, ${(array.ms / 1000).toFixed(1)} s`,
        `all ${n.toLocaleString("en-US")} ids accepted: ${ok}`
      ]
    }
  } finally {
    server.stop()
  }
}
