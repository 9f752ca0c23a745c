/**
 * `npm run bench`: every benchmark of BulkMetadata, one after the other,
 * each against a baseline measured in the same process. Prints a table and
 * exits non-zero when a target is missed.
 */
import * as e2e from "./e2e.js"
import * as idFile from "./idFile.js"
import type { Result } from "./measure.js"
import * as memory from "./memory.js"
import * as packing from "./packing.js"
import * as quota from "./quota.js"
import * as records from "./records.js"
import * as requestCount from "./requestCount.js"
import * as startup from "./startup.js"
import * as syncState from "./syncState.js"

const print = (r: Result) => {
  const ratio = r.ratio === undefined
    ? ""
    : ` ${r.subjectMs!.toFixed(0)} ${r.unit ?? "ms"} vs baseline ${r.baselineMs!.toFixed(0)} ${
      r.unit ?? "ms"
    }, ratio ${r.ratio.toFixed(2)} (target <= ${r.target})`
  console.log(`${r.pass ? "PASS" : "FAIL"} ${r.name}${ratio}`)
  for (const note of r.notes) console.log(`     ${note}`)
}

const started = performance.now()
const results: Array<Result> = []
const only = process.argv[2]
const all: ReadonlyArray<readonly [string, () => Promise<Result | ReadonlyArray<Result>>]> = [
  ["packing", packing.run],
  ["requests", requestCount.run],
  ["memory", memory.run],
  ["e2e", e2e.run],
  ["startup", startup.run],
  ["idfile", idFile.run],
  ["quota", quota.run],
  ["records", records.run],
  ["state", syncState.run]
]
console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} cores`)
for (const [name, bench] of all) {
  if (only !== undefined && only !== name) continue
  const outcome = await bench()
  for (const r of Array.isArray(outcome) ? outcome : [outcome as Result]) {
    print(r)
    results.push(r)
  }
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`)
process.exitCode = results.every((r) => r.pass) ? 0 : 1
