/**
 * Benchmark 3: 10,000,000 ids streamed from a file to the loopback server,
 * peak RSS of the client <= 300 MB; and, for contrast, the same ids read
 * into one array first. Server and client each run in their own process.
 */
import { execFile } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { writeIdsFile } from "./ids.js"
import type { Result } from "./measure.js"
import { startServer } from "./server.js"

const n = 10_000_000
const file = join(tmpdir(), `effect-voucherify-bench-${n}-ids.txt`)

const client = async (mode: "stream" | "array", server: string) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "bench/memoryClient.ts", mode, file, server],
    { maxBuffer: 1 << 20 }
  )
  return JSON.parse(stdout.trim().split("\n").pop()!) as {
    ms: number
    maxRssMB: number
    totalIds: number
    accepted: number
    requests: number
  }
}

export const run = async (): Promise<Result> => {
  if (!existsSync(file) || statSync(file).size < n * 16) await writeIdsFile(file, n)
  const server = await startServer()
  try {
    const serverJson = JSON.stringify({ baseUrl: server.baseUrl, appId: server.appId, appToken: server.appToken })
    const streamed = await client("stream", serverJson)
    const array = await client("array", serverJson)
    const ok = streamed.accepted === n && array.accepted === n
    return {
      name: "3. memory, 10M ids from a file",
      pass: ok && streamed.maxRssMB <= 300,
      notes: [
        `streamed: peak RSS ${streamed.maxRssMB} MB, ${streamed.requests} requests, ${(streamed.ms / 1000).toFixed(1)} s`,
        `read into one array first: peak RSS ${array.maxRssMB} MB, ${(array.ms / 1000).toFixed(1)} s`,
        `all ${n.toLocaleString("en-US")} ids accepted: ${ok}`
      ]
    }
  } finally {
    server.stop()
  }
}
