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
import { idReason, lineIds } from "../src/internal/bulk/idLines.js"
import { decode } from "../src/internal/text/decode.js"
import { VoucherifyTest } from "../src/testing/index.js"
import { Voucherify } from "../src/Voucherify.js"
import { AsyncActionId } from "../src/VoucherifySchema.js"
import { expectBalanced } from "./support/report.js"

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
  const all = Effect.runSync(Stream.runCollect(Stream.either(decode(Stream.fromIterable(pieces), lineIds()))))
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

/** A refusal of the byte path for a line too large for any body, which it does not read whole. */
const isTooLarge = (error: Outcome["error"]): boolean =>
  error?._tag === "IdLineError" && /^the (id takes|line runs past)/.test(String(error.reason))

/** Line `line` (from 1) of `bytes` as the string path sees it: decoded, its CR and (first) BOM dropped. */
const lineOf = (bytes: Uint8Array, line: number): string => {
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)
  const found = text.split("\n")[line - 1]!.replace(/\r$/, "")
  return line === 1 ? found.replace(/^\uFEFF/, "") : found
}

/**
 * The byte path gives what the string path gives, but for a line too large
 * for any body: from its bytes that is a line that is no id, refused at once
 * (and one past what a body leaves for an id before it is read whole, blank
 * or not). As strings the same line fails the same way, or for another
 * reason found in the rest of it, or the packer refuses its id after the
 * body before it, or, blank, it is skipped.
 */
const expectSameOutcome = (got: Outcome, reference: Outcome, bytes: Uint8Array) => {
  if (!isTooLarge(got.error)) {
    expect(got).toEqual(reference)
    return
  }
  expect(reference.bodies.slice(0, got.bodies.length)).toEqual(got.bodies)
  if (lineOf(bytes, Number(got.error!.line)).trim().length === 0) return
  const error = reference.error!
  expect(error).toBeDefined()
  expect(reference.bodies.slice(0, got.bodies.length)).toEqual(got.bodies)
  if (error._tag === "IdLineError") {
    expect(error.line).toBe(got.error!.line)
    expect(reference.bodies).toEqual(got.bodies)
  } else {
    expect(error).toMatchObject({ _tag: "InvalidRequestError" })
    expect(reference.bodies.length - got.bodies.length).toBeLessThanOrEqual(1)
  }
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
      expectSameOutcome(got, expected, file.bytes)
      expectSameOutcome(got, stringPath(pieces, options), file.bytes)
      expect(idsOf(pieces)).toEqual({ ids: file.ids, error: undefined })
      if (got.error !== undefined) {
        // an id too large for any body: the only way these ids can fail
        expect(isTooLarge(got.error)).toBe(true)
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
      const got = bytePath(pieces, options)
      expectSameOutcome(got, stringPath(pieces, options), bytes)
      // and neither the strings nor the bodies and errors depend on where the reads cut
      expect(idsOf(pieces)).toEqual(idsOf([bytes]))
      expect(got).toEqual(bytePath([bytes], options))
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
        expect(report.accepted.items).toBe(plain.length)
        expect(decode).not.toHaveBeenCalled()
        expect(bodies.flatMap((body) => JSON.parse(Buffer.from(body).toString("utf8")).source_ids)).toEqual(plain)
      } finally {
        decode.mockRestore()
      }
    }))

  it.effect("refuses a line too large for any body as a line that is no id, naming it", () =>
    Effect.gen(function*() {
      const frame = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))
      const text = `a\nb\n${"x".repeat(100 - frame - 1)}\n`
      const error = yield* Effect.flip(
        Stream.runDrain(BulkMetadata.lines(Stream.make(encoder.encode(text))).pipe(BulkMetadata.chunk({ metadata, maxBytes: 100 })))
      )
      expect(error).toMatchObject({
        _tag: "IdLineError",
        line: 3,
        reason: `the id takes ${100 - frame + 1} bytes, more than the ${100 - frame} left by the limit of 100 bytes next to the metadata`
      })
      // read as strings, the packer refuses the id itself, at its offset
      const asStrings = yield* Effect.flip(
        Stream.runDrain(decode(Stream.make(encoder.encode(text)), lineIds()).pipe(BulkMetadata.chunk({ metadata, maxBytes: 100 })))
      )
      expect(asStrings).toMatchObject({ _tag: "InvalidRequestError", path: "source_ids[2]", offset: 2 })
      // one byte less fits exactly: a body of 100 bytes
      const fits = yield* Stream.runCollect(
        BulkMetadata.lines(Stream.make(encoder.encode(`${"x".repeat(100 - frame - 2)}\n`))).pipe(
          BulkMetadata.chunk({ metadata, maxBytes: 100 })
        )
      )
      expect(Chunk.toReadonlyArray(fits).map((c) => c.bytes)).toEqual([100])
    }))

  it.effect("refuses a control character with its line, the same from the bytes as from the strings", () =>
    Effect.gen(function*() {
      /** The refusal of `text` packed from its bytes, which the string path gives too. */
      const refusal = (text: string | Uint8Array) =>
        Effect.gen(function*() {
          const bytes = typeof text === "string" ? encoder.encode(text) : text
          const packed = yield* Effect.flip(
            Stream.runDrain(BulkMetadata.lines(Stream.fromIterable(reads(bytes, [5]))).pipe(BulkMetadata.chunk({ metadata })))
          )
          expect(packed).toEqual(idsOf(reads(bytes, [3])).error)
          return packed
        })
      expect(yield* refusal("ok\nsku-1\tRed ball\n")).toMatchObject({
        _tag: "IdLineError",
        line: 2,
        message:
          `line 2: the id "sku-1\\tRed ball" contains a control character, a tab (U+0009): looks like a delimited file: use --column <name> (with the file saved as CSV)`
      })
      expect(yield* refusal("sku-1\rsku-2\rsku-3")).toMatchObject({
        line: 1,
        reason:
          `the id "sku-1\\rsku-2\\rsku-3" contains a control character, a carriage return (U+000D): line ends are CR only? Convert them to LF`
      })
      expect(yield* refusal("a\n\nb\u0000c\n")).toMatchObject({ line: 3, reason: `the id "b\\u0000c" contains a control character, NUL (U+0000)` })
      expect(yield* refusal("a\u001b[31m\n")).toMatchObject({ line: 1, reason: `the id "a\\u001b[31m" contains a control character, ESC (U+001B)` })
      expect(yield* refusal("a\u007fb\n")).toMatchObject({ line: 1, reason: `the id "a\\u007fb" contains a control character, DEL (U+007F)` })
      // C1 controls arrive as two UTF-8 bytes
      expect(yield* refusal(new Uint8Array([0x61, 0x0a, 0x62, 0xc2, 0x85, 0x63]))).toMatchObject({
        line: 2,
        reason: `the id "b\\u0085c" contains a control character, NEL (U+0085)`
      })
      // escaped in the message: U+009B starts an escape sequence on some terminals
      expect(yield* refusal("x\u009b\n")).toMatchObject({ reason: `the id "x\\u009b" contains a control character, U+009B` })
      // a long id is named by its start
      const long = `${"p".repeat(50)}\u0001`
      expect(yield* refusal(`${long}\n`)).toMatchObject({ reason: `the id "${"p".repeat(40)}…" contains a control character, U+0001` })
      // CRLF and LF line ends are no control characters; U+00A0 and U+2028 are not either
      const fine = yield* Stream.runCollect(
        BulkMetadata.lines(Stream.make(encoder.encode("a\r\nb\u00a0c\nd\u2028e\n"))).pipe(BulkMetadata.chunk({ metadata }))
      )
      expect(Chunk.toReadonlyArray(fine).flatMap((c) => c.ids)).toEqual(["a", "b\u00a0c", "d\u2028e"])
    }))

  it.effect("refuses a line that runs past what the limit leaves for an id as soon as it gets there, reading no further", () =>
    Effect.gen(function*() {
      const piece = 64 * 1024
      /** An endless input: `head`, then one line that never ends; `read` counts the bytes pulled. */
      const endless = (head: string, fill: string) => {
        let read = 0
        const filler = encoder.encode(fill.repeat(piece / fill.length))
        const bytes = Stream.concat(
          Stream.make(encoder.encode(head)),
          Stream.repeatEffect(Effect.sync(() => {
            read += filler.length
            return filler
          }))
        )
        return { bytes, read: () => read }
      }
      const maxBytes = 10_485_760
      const room = maxBytes - Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))
      for (const [head, fill, hint] of [["", "x", ""], ["a\nb\n\n", "sku-1\r", "; it holds CRs: line ends are CR only? Convert them to LF"]] as const) {
        const input = endless(head, fill)
        const error = yield* Effect.flip(Stream.runDrain(BulkMetadata.lines(input.bytes).pipe(BulkMetadata.chunk({ metadata }))))
        expect(error).toMatchObject({
          _tag: "IdLineError",
          line: head === "" ? 1 : 4,
          reason: `the line runs past ${room + 2} bytes without a line break: longer than any id can be (the limit of ${maxBytes} bytes leaves ${room} for an id next to the metadata)${hint}`
        })
        // refused within one read of the limit: the input is endless, and was not read to an end
        expect(input.read()).toBeLessThanOrEqual(room + 2 + piece)
        expect(input.read()).toBeGreaterThan(room)
      }
      // in one read longer than the limit, and after ids that fit: the same, those ids not sent for it
      const small = 200
      const smallRoom = small - Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))
      const emitted: Array<BulkMetadata.BulkChunk> = []
      const error = yield* BulkMetadata.lines(Stream.make(encoder.encode(`a\nb\n${"y".repeat(1000)}`))).pipe(
        BulkMetadata.chunk({ metadata, maxBytes: small }),
        Stream.runForEach((c) => Effect.sync(() => emitted.push(c))),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "IdLineError", line: 3, reason: expect.stringMatching(`^the line runs past ${smallRoom + 2} bytes`) })
      expect(emitted).toEqual([])
      // a line of exactly what fits, and its CRLF, is taken
      const fits = yield* Stream.runCollect(
        BulkMetadata.lines(Stream.fromIterable(reads(encoder.encode(`${"z".repeat(smallRoom - 2)}\r\n`), [7]))).pipe(
          BulkMetadata.chunk({ metadata, maxBytes: small })
        )
      )
      expect(Chunk.toReadonlyArray(fits).map((c) => c.bytes)).toEqual([small])
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
      expect(done).toMatchObject({ status: "completed", total: 3000, accepted: { items: 3000 } })
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
      expect(report).toMatchObject({ status: "failed", total: 3000 })
      expectBalanced(report)
    }).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "0 millis" }))), { timeout: 30_000 })
})
