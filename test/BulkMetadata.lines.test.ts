/**
 * `BulkMetadata.lines`: ids from one-id-per-line bytes, packed straight from
 * the read buffers. The reference everywhere is the string path: the same
 * ids as strings through `BulkMetadata.chunk`, which is tested on its own in
 * BulkMetadata.chunk.test.ts.
 */
import { describe, expect, it, vi } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { idReason, linesParser, parseIds } from "../src/internal/bulk/idLines.js"
import { VoucherifyTest } from "../src/testing/index.js"
import { Voucherify } from "../src/Voucherify.js"
import { AsyncActionId } from "../src/VoucherifySchema.js"

const encoder = new TextEncoder()
const metadata = { season: "summer", note: "ü\"" }

/** `bytes` as reads of the given sizes (cycled), the way a file or a pipe hands them over. */
const reads = (bytes: Uint8Array, sizes: ReadonlyArray<number>): Array<Uint8Array> => {
  const pieces: Array<Uint8Array> = []
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = Math.max(1, sizes[k % sizes.length] ?? bytes.length)
    pieces.push(bytes.slice(at, at + size))
    at += size
  }
  return pieces
}

type Outcome = {
  readonly bodies: ReadonlyArray<{ offset: number; count: number; size: number; body: string }>
  readonly error?: Record<string, unknown>
}

/** Every body a packing stream emits, and the error it ends with, as plain data. */
const outcome = <E>(chunks: Stream.Stream<BulkMetadata.BulkChunk, E>): Outcome => {
  const all = Effect.runSync(Stream.runCollect(Stream.either(chunks)))
  const bodies = Chunk.toReadonlyArray(Chunk.filterMap(all, Either.getRight)).map((c) => ({
    offset: c.offset,
    count: c.count,
    size: c.size,
    body: Buffer.from(c.body).toString("latin1")
  }))
  const error = Option.getOrUndefined(Chunk.findFirst(all, Either.isLeft).pipe(Option.map((left) => left.left)))
  return error === undefined ? { bodies } : { bodies, error: { ...(error as object) } }
}

/** The ids a `lines` stream gives when read as strings, and the error it ends with. */
const idsOf = (pieces: ReadonlyArray<Uint8Array>) => {
  const all = Effect.runSync(Stream.runCollect(Stream.either(parseIds(Stream.fromIterable(pieces), linesParser))))
  return {
    ids: Chunk.toReadonlyArray(Chunk.filterMap(all, Either.getRight)),
    error: Option.getOrUndefined(Chunk.findFirst(all, Either.isLeft).pipe(Option.map((left) => left.left)))
  }
}

/** The byte path: `lines` handed straight to `chunk`. */
const bytePath = (pieces: ReadonlyArray<Uint8Array>, options: BulkMetadata.ChunkOptions) =>
  outcome(BulkMetadata.lines(Stream.fromIterable(pieces)).pipe(BulkMetadata.chunk(options)))

/** The string path: the same ids as strings (then the same error), packed. */
const stringPath = (pieces: ReadonlyArray<Uint8Array>, options: BulkMetadata.ChunkOptions) => {
  const { error, ids } = idsOf(pieces)
  const strings = Stream.concat(Stream.fromIterable(ids), error === undefined ? Stream.empty : Stream.fail(error))
  return outcome(strings.pipe(BulkMetadata.chunk(options)))
}

/** Printable ASCII without `"` and `\`, no space at either end: what the packer copies as bytes. */
const plainId = fc.stringMatching(/^[!#-[\]-~]([ !#-[\]-~]{0,14}[!#-[\]-~])?$/)

/** Ids that take the decoding path, and that a line can hold. */
const awkwardId = fc.oneof(
  fc.constantFrom("zółć", "製品-🎁", "sku\"quoted\\", "a\tb", "a\rb", "\u007f", "x\u0001y", "👩‍👩‍👧", "\u00a0x", "café crème"),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 })
).filter((id) =>
  // what a line cannot hold (a line break), cannot encode (a lone surrogate), or the format refuses
  !id.includes("\n") && Buffer.from(id).toString() === id && id.trim().length > 0 && idReason(id, "") === undefined
)

/** A file of ids as people write them: LF or CRLF, blank lines, a BOM, a final line break or not. */
const idFile = fc.record({
  ids: fc.array(fc.oneof({ weight: 3, arbitrary: plainId }, { weight: 1, arbitrary: awkwardId }), { maxLength: 40 }),
  crlf: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  blanks: fc.array(fc.constantFrom("", " ", "  ", "\r", "\t", "\u3000", " \r"), { maxLength: 6 }),
  blankAt: fc.array(fc.nat(), { maxLength: 6 }),
  bom: fc.boolean(),
  finalNewline: fc.boolean()
}).map(({ blankAt, blanks, bom, crlf, finalNewline, ids }) => {
  const lines: Array<string> = [...ids]
  blanks.forEach((blank, k) => lines.splice((blankAt[k] ?? 0) % (lines.length + 1), 0, blank))
  const text = lines.map((line, k) => line + (k < lines.length - 1 || finalNewline ? (crlf[k % crlf.length] ? "\r\n" : "\n") : ""))
    .join("")
  return { ids, bytes: encoder.encode((bom ? "\uFEFF" : "") + text) }
})

/** Read sizes from one byte up, so that ids, CRLFs, characters and the BOM are cut anywhere. */
const readSizes = fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 8 })

const packing = fc.record({
  // small limits: many bodies, ids that do not fit and go to the next one
  maxBytes: fc.integer({ min: 150, max: 400 }),
  field: fc.constantFrom("source_ids" as const, "codes" as const),
  dedupe: fc.boolean()
}).map((options) => ({ ...options, metadata }))

describe("BulkMetadata.lines, packed from its bytes", () => {
  it.prop(
    "gives exactly the bodies of the string path, which parse back to the ids, each full",
    [idFile, readSizes, packing],
    ([file, sizes, options]) => {
      const pieces = reads(file.bytes, sizes)
      const expected = outcome(Stream.fromIterable(file.ids).pipe(BulkMetadata.chunk(options)))
      const got = bytePath(pieces, options)
      expect(got).toEqual(expected)
      expect(got).toEqual(stringPath(pieces, options))
      expect(idsOf(pieces)).toEqual({ ids: file.ids, error: undefined })
      if (got.error !== undefined) {
        // an id too large for any body, refused by both paths alike
        expect(got.error).toMatchObject({ _tag: "InvalidRequestError" })
        return
      }
      const kept = options.dedupe ? [...new Set(file.ids)] : file.ids
      expect(got.bodies.flatMap((b) => JSON.parse(Buffer.from(b.body, "latin1").toString())[options.field])).toEqual(kept)
      for (const [k, b] of got.bodies.entries()) {
        const bytes = Buffer.byteLength(b.body, "latin1")
        expect(bytes).toBeLessThanOrEqual(options.maxBytes)
        const next = kept[got.bodies.slice(0, k + 1).reduce((n, body) => n + body.size, 0)]
        // exact accounting: the id after a body would not have fitted into it
        if (next !== undefined) expect(bytes + 1 + Buffer.byteLength(JSON.stringify(next))).toBeGreaterThan(options.maxBytes)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  /** Bytes of any kind: plain text, spaces, line breaks, escapes, characters, broken sequences, BOMs. */
  const anyBytes = fc.array(
    fc.constantFrom(
      ..."ab7_-.".split(""),
      " ",
      "\t",
      "\r",
      "\n",
      "\n",
      "\r\n",
      "\"",
      "\\",
      "ó",
      "🎁",
      "\uFEFF",
      "\uFFFD",
      new Uint8Array([0xff]),
      new Uint8Array([0xc3]),
      new Uint8Array([0xe2, 0x82]),
      new Uint8Array([0xef, 0xbb, 0xbf])
    ),
    { maxLength: 80 }
  ).map((tokens) =>
    Buffer.concat(tokens.map((token) => typeof token === "string" ? encoder.encode(token) : token))
  )

  it.prop(
    "fails, or not, exactly as the string path, with the same line, reason, and bodies before",
    [anyBytes, readSizes, fc.integer({ min: 40, max: 120 }), fc.boolean()],
    ([bytes, sizes, maxBytes, dedupe]) => {
      const options = { metadata, maxBytes, dedupe }
      const pieces = reads(bytes, sizes)
      expect(bytePath(pieces, options)).toEqual(stringPath(pieces, options))
      // and the strings do not depend on where the reads cut
      expect(idsOf(pieces)).toEqual(idsOf([bytes]))
    },
    { fastCheck: { numRuns: 1000 } }
  )
})

describe("BulkMetadata.lines", () => {
  const linesOf = (text: string, size: number) => reads(encoder.encode(text), [size])

  it.effect("names the line of each refusal, blank lines counted", () =>
    Effect.gen(function*() {
      const error = (text: string) =>
        Effect.flip(Stream.runDrain(BulkMetadata.lines(Stream.fromIterable(linesOf(text, 4))).pipe(BulkMetadata.chunk({ metadata }))))
      expect(yield* error("a\n\n b\n")).toMatchObject({
        _tag: "IdLineError",
        line: 3,
        reason: `the id " b" has leading or trailing whitespace`,
        message: `line 3: the id " b" has leading or trailing whitespace`
      })
      expect(yield* error("\uFEFFa\r\nb\t\r\n")).toMatchObject({ line: 2, reason: `the id "b\\t" has leading or trailing whitespace` })
      expect(yield* error("ok\nzó\n".replace("ó", "\uFFFD"))).toMatchObject({ line: 2, reason: "not valid UTF-8" })
    }))

  it.effect("copies plain ids without decoding them; only the other lines are decoded", () =>
    Effect.gen(function*() {
      const decode = vi.spyOn(TextDecoder.prototype, "decode")
      try {
        const plain = Array.from({ length: 5000 }, (_, i) => `prod_${String(i).padStart(10, "0")}`)
        const pieces = linesOf(`${plain.join("\r\n")}\r\n`, 4096)
        const chunks = yield* Stream.runCollect(BulkMetadata.lines(Stream.fromIterable(pieces)).pipe(BulkMetadata.chunk({ metadata })))
        expect(decode).not.toHaveBeenCalled()
        expect(Chunk.toReadonlyArray(chunks).flatMap((c) => c.ids)).toEqual(plain)
        yield* Stream.runDrain(
          BulkMetadata.lines(Stream.fromIterable(linesOf("p1\nzółć\np2\n", 3))).pipe(BulkMetadata.chunk({ metadata }))
        )
        expect(decode).toHaveBeenCalledTimes(1)
        // the run takes the byte path for the same reason: the input's type, `Lines`
        decode.mockClear()
        // a service that takes the bodies as bytes and decodes nothing itself
        const bodies: Array<Uint8Array> = []
        const accepting = Layer.succeed(Voucherify, {
          maxPayloadBytes: 10_485_760,
          sendEncodedBulkRequest: (request) =>
            Effect.sync(() => bodies.push(request.body)).pipe(Effect.as({ async_action_id: AsyncActionId.make("aa_1") }))
        } as Partial<Voucherify["Type"]> as Voucherify["Type"])
        const report = yield* BulkMetadata.run(BulkMetadata.lines(Stream.fromIterable(pieces)), { target: "products", metadata }).pipe(
          Effect.provide(accepting)
        )
        expect(report.accepted.ids).toBe(plain.length)
        expect(decode).not.toHaveBeenCalled()
        expect(bodies.flatMap((body) => JSON.parse(Buffer.from(body).toString("utf8")).source_ids)).toEqual(plain)
      } finally {
        decode.mockRestore()
      }
    }))

  it.effect("refuses an id too large for any body, at its offset", () =>
    Effect.gen(function*() {
      const frame = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))
      const text = `a\nb\n${"x".repeat(100 - frame - 1)}\n`
      const error = yield* Effect.flip(
        Stream.runDrain(BulkMetadata.lines(Stream.make(encoder.encode(text))).pipe(BulkMetadata.chunk({ metadata, maxBytes: 100 })))
      )
      expect(error).toMatchObject({ _tag: "InvalidRequestError", path: "source_ids[2]", offset: 2 })
      // one byte less fits exactly: a body of 100 bytes
      const fits = yield* Stream.runCollect(
        BulkMetadata.lines(Stream.make(encoder.encode(`${"x".repeat(100 - frame - 2)}\n`))).pipe(
          BulkMetadata.chunk({ metadata, maxBytes: 100 })
        )
      )
      expect(Chunk.toReadonlyArray(fits).map((c) => c.bytes)).toEqual([100])
    }))

  it.live("runs through BulkMetadata.run, counting the ids read before a bad line", () =>
    Effect.gen(function*() {
      const good = Array.from({ length: 3000 }, (_, i) => `p${i}`)
      const done = yield* BulkMetadata.run(BulkMetadata.lines(Stream.fromIterable(linesOf(good.join("\n"), 1000))), {
        target: "products",
        metadata,
        maxBytes: 2000,
        await: { schedule: Schedule.spaced("5 millis") }
      })
      expect(done).toMatchObject({ status: "completed", totalIds: 3000, accepted: { ids: 3000 } })
      const state = yield* VoucherifyTest.VoucherifyTestState
      expect((yield* state.records("products")).size).toBe(3000)

      const stopped = yield* Effect.flip(
        BulkMetadata.run(BulkMetadata.lines(Stream.fromIterable(linesOf(`${good.join("\n")}\n bad\n`, 1000))), {
          target: "products",
          metadata,
          maxBytes: 2000
        })
      )
      expect(stopped.error).toMatchObject({ _tag: "IdLineError", line: 3001 })
      const { report } = stopped
      expect(report).toMatchObject({ status: "failed", totalIds: 3000 })
      const sum = (ranges: ReadonlyArray<{ readonly count: number }>) => ranges.reduce((n, r) => n + r.count, 0)
      expect(report.accepted.ids + sum(report.notAttempted) + sum(report.unknown) + sum(report.rejected)).toBe(3000)
    }).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "0 millis" }))), { timeout: 30_000 })
})
