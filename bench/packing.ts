/**
 * Benchmark 1: packing 10,000,000 ids like `prod_0000000001` into 10 MB
 * bodies. `BulkMetadata.chunk` against a hand-written loop that builds the
 * same bodies with `JSON.stringify` per chunk. Target ratio <= 1.3.
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { jsonStringBytes } from "../src/internal/bulk/payload.js"
import { chunked, makeIds } from "./ids.js"
import { ratioResult, type Result, timeBest } from "./measure.js"

const metadata = { season: "summer", label: true }
const maxBytes = 10_485_760

/** The baseline: a plain loop, the same exact measure, one JSON.stringify per body. */
const handWritten = (ids: ReadonlyArray<string>, onBody: (body: Uint8Array) => void) => {
  const head = "{\"source_ids\":"
  const tail = `,"metadata":${JSON.stringify(metadata)}}`
  const room = maxBytes - Buffer.byteLength(head) - Buffer.byteLength(tail) - 2
  const encoder = new TextEncoder()
  let current: Array<string> = []
  let bytes = 0
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    const b = jsonStringBytes(id)
    if (current.length > 0 && bytes + 1 + b > room) {
      onBody(encoder.encode(head + JSON.stringify(current) + tail))
      current = []
    }
    bytes = current.length === 0 ? b : bytes + 1 + b
    current.push(id)
  }
  if (current.length > 0) onBody(encoder.encode(head + JSON.stringify(current) + tail))
}

const withChunk = (input: Stream.Stream<string>, onBody: (body: Uint8Array) => void) =>
  Effect.runSync(input.pipe(
    BulkMetadata.chunk({ metadata, maxBytes }),
    Stream.runForEach((chunk) => Effect.sync(() => onBody(chunk.body)))
  ))

export const run = async (n = 10_000_000): Promise<Result> => {
  const ids = makeIds(n)
  // same bodies, byte for byte (compared by digest, so that no body stays in memory)
  const digest = (pack: (onBody: (body: Uint8Array) => void) => void) => {
    const hash = createHash("sha256")
    let bodies = 0
    pack((b) => {
      hash.update(b)
      bodies++
    })
    return `${bodies}:${hash.digest("hex")}`
  }
  const expected = digest((onBody) => handWritten(ids, onBody))
  if (digest((onBody) => withChunk(chunked(ids), onBody)) !== expected) throw new Error("the bodies differ")
  const k = Number(expected.split(":")[0])

  let sink = 0
  const count = (b: Uint8Array) => {
    sink += b.byteLength
  }
  // the input as a reader would emit it: 64 Ki ids a chunk, built once, outside the timing
  const input = chunked(ids)
  const times = await timeBest(5, () => handWritten(ids, count), () => withChunk(input, count))
  return ratioResult("1. packing 10M ids", times, 1.3, [
    `${k} bodies, ${(sink / 10 / 1e6).toFixed(0)} MB each round`,
    `${(n / (times.subject / 1000) / 1e6).toFixed(1)} M ids/s`
  ])
}
