/**
 * The measured client of benchmark 3, run in its own process:
 * `memoryClient.ts stream|array <file> <server json>`. Prints one JSON line;
 * its peak RSS is written by bench/rssOnExit.mjs, preloaded.
 */
import { readFileSync } from "node:fs"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { runtimeFor } from "./client.js"
import { linesOf } from "./ids.js"

const [mode, file, serverJson] = process.argv.slice(2)
const runtime = runtimeFor(JSON.parse(serverJson!))
const started = performance.now()
const ids = mode === "array" ? readFileSync(file!, "utf8").split("\n").filter((l) => l.length > 0) : linesOf(file!)
const report = await runtime.runPromise(
  BulkMetadata.run(ids as BulkMetadata.Input, { target: "products", metadata: { bench: true } })
)
console.log(JSON.stringify({
  mode,
  ms: Math.round(performance.now() - started),
  total: report.total,
  accepted: report.accepted.items,
  requests: report.chunks
}))
await runtime.dispose()
