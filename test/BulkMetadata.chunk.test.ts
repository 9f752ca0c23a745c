import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { controlAt } from "../src/internal/bulk/idLines.js"
import { encodeBulkRequest, jsonStringBytes } from "../src/internal/bulk/payload.js"

/** The independent oracle: what `JSON.stringify` and UTF-8 really give. */
const oracleBytes = (s: string) => Buffer.byteLength(JSON.stringify(s), "utf8")
const decoder = new TextDecoder()
const parse = (chunk: BulkMetadata.BulkChunk) => JSON.parse(decoder.decode(chunk.body))

const metadata = { season: "summer", tags: ["a\"b", "ü"], n: 1 }
const frameBytes = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))

const packAll = (ids: ReadonlyArray<string>, options: BulkMetadata.ChunkOptions, inputChunk = 7) =>
  Stream.fromIterable(ids).pipe(
    Stream.rechunk(inputChunk),
    BulkMetadata.chunk(options),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/** The strings JSON and UTF-8 treat specially, mixed into arbitrary ones. */
const special = fc.constantFrom(
  "\"",
  "\\",
  "\"\\\"",
  "\n",
  "\u0000",
  "\u001f",
  "\u007f",
  "\b\f\r\t",
  "😀",
  "👩‍👩‍👧",
  "\ud800",
  "\udfff",
  "a\ud83dz",
  "\udc00\ud800",
  "\u2028\u2029",
  "ünïcödé",
  "日本語",
  "x"
)
/** Any id the packer takes: anything but a control character (refused, tested below) and the empty string. */
const idArb = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  special,
  fc.tuple(special, fc.string({ unit: "binary", maxLength: 4 }), special).map(([a, b, c]) => a + b + c)
).filter((id) => id.length > 0 && controlAt(id) === -1)

describe("jsonStringBytes", () => {
  it.prop("equals the UTF-8 length of JSON.stringify for any string", [fc.oneof(fc.string({ unit: "binary" }), special)], ([s]) => {
    expect(jsonStringBytes(s)).toBe(oracleBytes(s))
  }, { fastCheck: { numRuns: 2000 } })
})

describe("BulkMetadata.chunk", () => {
  it.effect("packs greedily and builds exactly JSON.stringify's body", () =>
    Effect.gen(function*() {
      const ids = ["p1", "p2", "p3", "p4", "p5"]
      const limit = frameBytes + 4 + 1 + 4 // two ids of 4 bytes ("p1") and a comma
      const chunks = yield* packAll(ids, { metadata, maxBytes: limit })
      expect(chunks.map((c) => c.ids)).toEqual([["p1", "p2"], ["p3", "p4"], ["p5"]])
      expect(chunks.map((c) => [c.index, c.offset, c.count])).toEqual([[0, 0, 2], [1, 2, 2], [2, 4, 1]])
      expect(decoder.decode(chunks[0]!.body)).toBe(JSON.stringify({ source_ids: ["p1", "p2"], metadata }))
      expect(chunks[0]!.bytes).toBe(limit)
    }))

  it.effect("writes codes for vouchers", () =>
    Effect.gen(function*() {
      const [only] = yield* packAll(["C-1"], { metadata: {}, field: "codes" })
      expect(decoder.decode(only!.body)).toBe("{\"codes\":[\"C-1\"],\"metadata\":{}}")
    }))

  it.effect.prop(
    "every body fits, parses back to its ids in order, the chunks rebuild the input and each non-final one is full",
    [fc.array(idArb, { maxLength: 60 }), fc.nat(120), fc.integer({ min: 1, max: 9 })],
    ([ids, extra, inputChunk]) =>
      Effect.gen(function*() {
        // room for the largest id, and at least for the smallest possible one
        const largest = Math.max(3, ...ids.map(oracleBytes))
        const limit = frameBytes + largest + extra
        const chunks = yield* packAll(ids, { metadata, maxBytes: limit }, inputChunk)
        let offset = 0
        chunks.forEach((chunk, k) => {
          expect(chunk.index).toBe(k)
          expect(chunk.offset).toBe(offset)
          expect(chunk.count).toBe(chunk.ids.length)
          expect(chunk.size).toBe(chunk.ids.length)
          expect(chunk.bytes).toBe(chunk.body.byteLength)
          expect(chunk.bytes).toBeLessThanOrEqual(limit)
          // byte for byte what JSON.stringify and UTF-8 give
          expect(Buffer.from(chunk.body)).toEqual(Buffer.from(JSON.stringify({ source_ids: chunk.ids, metadata })))
          const body = parse(chunk)
          expect(body).toEqual({ source_ids: chunk.ids, metadata })
          expect(body.source_ids).toEqual(ids.slice(offset, offset + chunk.ids.length))
          offset += chunk.ids.length
          const next = chunks[k + 1]
          if (next !== undefined) {
            // full: the next id would have broken the limit
            expect(chunk.bytes + 1 + oracleBytes(next.ids[0]!)).toBeGreaterThan(limit)
          }
        })
        expect(offset).toBe(ids.length)
        expect(chunks.flatMap((c) => c.ids)).toEqual(ids)
      }),
    { fastCheck: { numRuns: 200 } }
  )

  it.effect("builds large bodies of plain and escaped ids byte for byte", () =>
    Effect.gen(function*() {
      // deterministic mix: plain ids and ids that need escapes or multi-byte UTF-8
      const specials = ["\"", "\\", "\u2028", "\u00a0", "😀", "\ud800", "ü", "日本"]
      const ids = Array.from({ length: 120_000 }, (_, i) => `id-${i}${i % 7 === 0 ? specials[i % specials.length] : ""}`)
      const limit = 500_000
      const chunks = yield* packAll(ids, { metadata, maxBytes: limit }, 5_000)
      expect(chunks.length).toBeGreaterThan(2)
      chunks.forEach((chunk, k) => {
        expect(Buffer.from(chunk.body)).toEqual(Buffer.from(JSON.stringify({ source_ids: chunk.ids, metadata })))
        const next = chunks[k + 1]
        if (next !== undefined) expect(chunk.bytes + 1 + oracleBytes(next.ids[0]!)).toBeGreaterThan(limit)
      })
      expect(chunks.flatMap((c) => c.ids)).toEqual(ids)
    }))

  it.effect("an empty input gives no chunk", () =>
    Effect.gen(function*() {
      expect(yield* packAll([], { metadata })).toEqual([])
    }))

  it.effect("an empty id fails with its offset, and nothing after it is emitted", () =>
    Effect.gen(function*() {
      const emitted: Array<BulkMetadata.BulkChunk> = []
      const ids = ["a", "b", "c", "", "d", "e"]
      const result = yield* Stream.fromIterable(ids).pipe(
        BulkMetadata.chunk({ metadata: {}, maxBytes: frameBytesOf({}) + 3 }),
        Stream.runForEach((c) => Effect.sync(() => emitted.push(c))),
        Effect.either
      )
      expect(Either.getLeft(result)).toMatchObject({
        _tag: "Some",
        value: { _tag: "InvalidRequestError", offset: 3, path: "source_ids[3]", reason: "must not be empty" }
      })
      expect(emitted.flatMap((c) => c.ids)).toEqual(["a", "b"])
    }))

  it.effect("an id with a control character fails with its offset, whatever the character and wherever it stands", () =>
    Effect.gen(function*() {
      const controls = ["\u0000", "\t", "\n", "\r", "\u001b", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f"]
      for (const control of controls) {
        for (const id of [`sku${control}1`, control, `zółć${control}`, `${control}"quoted"`]) {
          const emitted: Array<BulkMetadata.BulkChunk> = []
          const error = yield* Stream.fromIterable(["a", "b", "c", id, "d"]).pipe(
            BulkMetadata.chunk({ metadata: {}, maxBytes: frameBytesOf({}) + 7 }),
            Stream.runForEach((c) => Effect.sync(() => emitted.push(c))),
            Effect.flip
          )
          const code = control.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")
          expect(error).toMatchObject({ _tag: "InvalidRequestError", path: "source_ids[3]", offset: 3 })
          expect(error.reason).toContain(`contains a control character`)
          expect(error.reason).toContain(`U+${code}`)
          // refused at once, like an empty id: the pending body is not emitted for it
          expect(emitted.flatMap((c) => c.ids)).toEqual(["a", "b"])
        }
      }
      // the characters just outside the rule are ids like any other
      const fine = ["\u00a0", "\u00a1", "\u2028", "~", " "].map((c) => `x${c}y`)
      expect((yield* packAll(fine, { metadata: {} })).flatMap((c) => c.ids)).toEqual(fine)
      // the single request the library encodes follows the same rule
      expect(encodeBulkRequest("products", ["a", "b\u0085"], {}, 1000)).toMatchObject({
        _tag: "InvalidRequestError",
        path: "source_ids[1]",
        offset: 1,
        reason: `the id "b\\u0085" contains a control character, NEL (U+0085)`
      })
      expect(encodeBulkRequest("vouchers", ["", "a"], {}, 1000)).toMatchObject({ path: "codes[0]", reason: "must not be empty" })
      expect(encodeBulkRequest("products", ["a\u00a0b"], {}, 1000)).toHaveProperty("body")
    }))

  it.effect("an id too large to fit alone fails with its offset", () =>
    Effect.gen(function*() {
      const limit = frameBytesOf({}) + 5
      const error = yield* Effect.flip(packAll(["abc", "abcd"], { metadata: {}, maxBytes: limit }))
      expect(error).toMatchObject({ _tag: "InvalidRequestError", offset: 1, path: "source_ids[1]" })
      // the same id fits with one byte more
      const chunks = yield* packAll(["abc", "abcd"], { metadata: {}, maxBytes: limit + 1 })
      expect(chunks.map((c) => c.ids)).toEqual([["abc"], ["abcd"]])
    }))

  it.effect("metadata that leaves no room fails at once, without reading the input", () =>
    Effect.gen(function*() {
      const big = { text: "x".repeat(100) }
      const error = yield* Effect.flip(
        Stream.never.pipe(BulkMetadata.chunk({ metadata: big, maxBytes: frameBytesOf(big) + 2 }), Stream.runDrain)
      )
      expect(error).toMatchObject({ _tag: "InvalidRequestError", path: "metadata" })
    }))

  it.effect("metadata JSON cannot encode faithfully is refused", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(packAll(["a"], { metadata: { n: Number.NaN } }))
      expect(error).toMatchObject({ _tag: "InvalidRequestError", path: "metadata.n" })
    }))

  it.effect("dedupe drops repeated ids; the chunk ranges still tile the input", () =>
    Effect.gen(function*() {
      const ids = ["a", "b", "a", "c", "b", "d", "d", "e"]
      const chunks = yield* packAll(ids, { metadata: {}, maxBytes: frameBytesOf({}) + 7, dedupe: true }, 3)
      expect(chunks.map((c) => c.ids)).toEqual([["a", "b"], ["c", "d"], ["e"]])
      expect(chunks.map((c) => [c.offset, c.count])).toEqual([[0, 3], [3, 4], [7, 1]])
    }))

  it.effect("builds bodies lazily: taking two chunks of an endless input terminates", () =>
    Effect.gen(function*() {
      let built = 0
      const chunks = yield* Stream.iterate(0, (n) => n + 1).pipe(
        Stream.map((n) => `id-${n}`),
        Stream.rechunk(10_000),
        BulkMetadata.chunk({ metadata: {}, maxBytes: 100 }),
        Stream.tap(() => Effect.sync(() => built++)),
        Stream.take(2),
        Stream.runCollect
      )
      expect(Chunk.size(chunks)).toBe(2)
      expect(built).toBe(2)
    }))
})

function frameBytesOf(meta: object) {
  return Buffer.byteLength(JSON.stringify({ source_ids: [], metadata: meta }))
}
