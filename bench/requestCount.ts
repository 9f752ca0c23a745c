/**
 * Benchmark 2: how many requests the packer needs. The lower bound for an
 * input: each body holds ids whose `bytes + 1` (the comma) sum to at most
 * `limit - frame + 1`, so no packing can use fewer than
 * `ceil(Σ (bytes + 1) / (limit - frame + 1))` bodies. Greedy packing must
 * reach it or exceed it by one, and every body but the last must be at least
 * 99.9% of the limit. ASCII ids and a multilingual set (scripts, emoji,
 * quotes and backslashes).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { jsonStringBytes } from "../src/internal/bulk/payload.js"
import { asciiId, chunked, makeIds, multilingualId } from "./ids.js"
import type { Result } from "./measure.js"

const limit = 10_485_760
const metadata = { season: "summer", label: true }

const check = (name: string, ids: ReadonlyArray<string>): Result => {
  const frame = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))
  let units = 0
  for (const id of ids) units += jsonStringBytes(id) + 1
  const lowerBound = Math.ceil(units / (limit - frame + 1))
  const sizes = Effect.runSync(
    chunked(ids).pipe(BulkMetadata.chunk({ metadata, maxBytes: limit }), Stream.map((c) => c.bytes), Stream.runCollect)
  )
  const bodies = [...sizes]
  const nonFinal = bodies.slice(0, -1)
  const minFill = nonFinal.length === 0 ? 1 : Math.min(...nonFinal) / limit
  const pass = (bodies.length === lowerBound || bodies.length === lowerBound + 1) && minFill >= 0.999 &&
    bodies.every((b) => b <= limit)
  return {
    name: `2. request count, ${name}`,
    pass,
    notes: [
      `${ids.length.toLocaleString("en-US")} ids, ${(units / 1e6).toFixed(1)} MB of ids: ${bodies.length} requests, lower bound ${lowerBound}`,
      `smallest non-final body ${(minFill * 100).toFixed(4)}% of the limit`
    ]
  }
}

export const run = async (): Promise<ReadonlyArray<Result>> => [
  check("ASCII ids", makeIds(3_000_000, asciiId)),
  check("multilingual ids", makeIds(1_500_000, multilingualId))
]
