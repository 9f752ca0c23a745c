import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { appendFileSync, mkdtempSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as BulkMetadata from "../src/BulkMetadata.js"
import type { IdFormat } from "../src/cli/IdInput.js"
import { readHeader } from "../src/cli/CsvIds.js"
import { describe as describeError, type Ids, open, parseIds as parseInput } from "../src/cli/IdInput.js"
import { lineIds } from "../src/internal/bulk/idLines.js"
import { decode } from "../src/internal/text/decode.js"
import type { LineLimit } from "../src/internal/text/lines.js"

/** The ids of an input as strings: one-id-per-line bytes decoded as the packer's string path does. */
const strings = <E, R>(ids: Ids<E, R>): Stream.Stream<string, E, R> =>
  "_tag" in ids && ids._tag === "Lines"
    ? decode((ids as BulkMetadata.Lines<E, R>).bytes, lineIds()) as Stream.Stream<string, E, R>
    : ids as Stream.Stream<string, E, R>

const parseIds = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, format: IdFormat, source: string, maxRecord?: LineLimit) =>
  strings(parseInput(bytes, format, source, maxRecord))

const encoder = new TextEncoder()

/** Feeds `text` cut into pieces of `size` bytes, so that lines and characters straddle chunks. */
const idsOf = (text: string, format: IdFormat, size = 3) => {
  const bytes = encoder.encode(text)
  const pieces: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.slice(i, i + size))
  return parseIds(Stream.fromIterable(pieces), format, "ids.txt").pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )
}

/** The message the terminal shows for the failure of `ids.txt` holding `text`. */
const errorOf = (text: string, format: IdFormat) =>
  Effect.map(
    Effect.flip(idsOf(text, format)),
    (error) =>
      describeError({ name: "ids.txt", ids: Stream.empty, fraction: () => undefined, description: { kind: "stream" } })(
        error
      ).message
  )

const lines: IdFormat = { _tag: "Lines" }
const csv: IdFormat = { _tag: "Csv", column: "id" }
const ndjson: IdFormat = { _tag: "Ndjson", field: "id" }

describe("plain lines", () => {
  it.effect("skips blank lines and the trailing newline, accepts CRLF and a BOM", () =>
    Effect.gen(function*() {
      expect(yield* idsOf("\uFEFFa\r\nb\n\n  \nc\n", lines)).toEqual(["a", "b", "c"])
      expect(yield* idsOf("a\nb", lines)).toEqual(["a", "b"])
      expect(yield* idsOf("", lines)).toEqual([])
    }))

  it.effect("keeps multi-byte characters split across reads", () =>
    Effect.gen(function*() {
      expect(yield* idsOf("zółć\n🎉-1\n", lines, 1)).toEqual(["zółć", "🎉-1"])
    }))

  it.effect("names the line of an id with stray whitespace or broken UTF-8", () =>
    Effect.gen(function*() {
      expect(yield* errorOf("a\nb \n", lines)).toBe(`ids.txt, line 2: the id "b " has leading or trailing whitespace`)
      const broken = parseIds(Stream.make(encoder.encode("ok\n"), new Uint8Array([0x61, 0xff, 0x0a])), lines, "ids.txt")
      expect(yield* Effect.flip(Stream.runDrain(broken))).toMatchObject({ _tag: "IdLineError", line: 2, reason: "not valid UTF-8" })
      // a character cut off by the end of the input is no character either
      const cut = parseIds(Stream.make(encoder.encode("ok\nzó").subarray(0, 5)), lines, "ids.txt")
      expect(yield* Effect.flip(Stream.runDrain(cut))).toMatchObject({ line: 2, reason: "not valid UTF-8" })
    }))
})

describe("CSV", () => {
  it.effect("reads the named column, with quoted commas, quotes and line breaks", () =>
    Effect.gen(function*() {
      const text = "name,id\r\nplain,p1\n\"a, b\",\"p\"\"2\"\n\"multi\nline\",p3\n,\"p4\"\n"
      expect(yield* idsOf(text, csv)).toEqual(["p1", "p\"2", "p3", "p4"])
    }))

  it.effect("names the line of each malformation", () =>
    Effect.gen(function*() {
      expect(yield* errorOf("name\nx\n", csv)).toBe(`ids.txt, line 1: the header has no column "id" (columns: name)`)
      expect(yield* errorOf("id,n\na,1\nb\n", csv)).toBe("ids.txt, line 3: 1 fields where the header has 2")
      expect(yield* errorOf("id,n\na,1\n\"b,2\nc,3\n", csv)).toBe(
        "ids.txt, line 3: a quoted field opened here is never closed"
      )
      expect(yield* errorOf("id\na\"b\"\n", csv)).toMatch(/^ids\.txt, line 2: a quote inside an unquoted field/)
      expect(yield* errorOf("n,id\nx,\n", csv)).toBe(`ids.txt, line 2: column "id" is empty`)
      expect(yield* errorOf("", csv)).toBe(`ids.txt, line 1: the CSV has no header row naming the column "id"`)
      expect(yield* errorOf("n,id\n\n\"two\r\nlines\",a\r\n\nx, b\n", csv)).toBe(
        `ids.txt, line 6: column "id" " b" has leading or trailing whitespace`
      )
    }))

  it.effect("reads the header alone, and not a chunk past it", () =>
    Effect.gen(function*() {
      const pieces = ["\uFEFFna", "me,i", "d\r\nx,", "y\n"].map((text) => encoder.encode(text))
      // Pulling past the chunk that ends the header would fail.
      const bytes = Stream.concat(Stream.fromIterable(pieces).pipe(Stream.rechunk(1)), Stream.fail("read too far"))
      expect(Chunk.toReadonlyArray(yield* readHeader(bytes, "id", "stdin"))).toEqual(pieces.slice(0, 3))
      // a header without a line break is complete at the end
      expect(Chunk.size(yield* readHeader(Stream.make(encoder.encode("id")), "id", "stdin"))).toBe(1)
      const wrong = yield* Effect.flip(readHeader(Stream.fromIterable(pieces), "code", "stdin"))
      expect(wrong.message).toBe(`stdin, line 1: the header has no column "code" (columns: name, id)`)
    }))
})

describe("NDJSON", () => {
  it.effect("reads the named field of each object", () =>
    Effect.gen(function*() {
      expect(yield* idsOf("{\"id\":\"a\",\"x\":1}\r\n\n{\"id\":\"b\"}", ndjson)).toEqual(["a", "b"])
    }))

  it.effect("names the line of bad JSON, a non-object or a missing field", () =>
    Effect.gen(function*() {
      expect(yield* errorOf("{\"id\":\"a\"}\n{\"id\":\n", ndjson)).toMatch(/^ids\.txt, line 2: not valid JSON/)
      expect(yield* errorOf("[1]\n", ndjson)).toBe("ids.txt, line 1: expected a JSON object")
      expect(yield* errorOf("{\"id\":7}\n", ndjson)).toBe(`ids.txt, line 1: field "id" must be a string, got number`)
      expect(yield* errorOf("{}\n", ndjson)).toBe(`ids.txt, line 1: field "id" must be a string, it is missing`)
    }))
})

describe("records past the limit", () => {
  const limit = { limit: 1000, why: "longer than a whole request body (1000 bytes), so no record of an id" }

  it.effect("an NDJSON line or a CSV record is refused as soon as it runs past the limit, not read to its end", () =>
    Effect.gen(function*() {
      /** `head`, then `x`s without end; `read()` counts the bytes pulled. */
      const endless = (head: string) => {
        let read = 0
        const piece = encoder.encode("x".repeat(256))
        const bytes = Stream.concat(
          Stream.make(encoder.encode(head)),
          Stream.repeatEffect(Effect.sync(() => {
            read += piece.length
            return piece
          }))
        )
        return { bytes, read: () => read }
      }
      const ndjson = endless(`{"id":"a"}\n\n{"id":"`)
      const ids: Array<string> = []
      const byLine = yield* parseIds(ndjson.bytes, { _tag: "Ndjson", field: "id" }, "ids.ndjson", limit).pipe(
        Stream.runForEach((id) => Effect.sync(() => ids.push(id))),
        Effect.flip
      )
      expect(byLine).toMatchObject({
        _tag: "IdLineError",
        line: 3,
        reason: "the line runs past 1000 bytes without a line break: longer than a whole request body (1000 bytes), so no record of an id"
      })
      expect(ids).toEqual(["a"])
      expect(ndjson.read()).toBeLessThanOrEqual(1000 + 256)
      const csv = endless(`name,id\nx,a\n"`)
      const byRecord = yield* Effect.flip(Stream.runDrain(parseIds(csv.bytes, { _tag: "Csv", column: "id" }, "ids.csv", limit)))
      expect(byRecord.message).toBe(
        "ids.csv, line 3: the record runs past 1000 bytes: longer than a whole request body (1000 bytes), so no record of an id"
      )
      expect(csv.read()).toBeLessThanOrEqual(1000 + 256)
      // CR line ends in NDJSON: said
      const crOnly = endless(`{"id":"a"}\r{"id":"b"}\r`)
      expect(yield* Effect.flip(Stream.runDrain(parseIds(crOnly.bytes, { _tag: "Ndjson", field: "id" }, "ids.ndjson", limit))))
        .toMatchObject({ line: 1, reason: expect.stringMatching(/; it holds CRs: line ends are CR only\? Convert them to LF$/) })
      // records within the limit are read as ever
      const fine = yield* parseIds(Stream.make(encoder.encode(`{"id":"${"y".repeat(900)}"}\n`)), { _tag: "Ndjson", field: "id" }, "ids.ndjson", limit)
        .pipe(Stream.runCollect)
      expect(Chunk.size(fine)).toBe(1)
    }))
})

describe("open", () => {
  it.effect("fails a file that changes while it is read before the input ends, so its last line is never packed", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "cli-input-"))
      // about 1 MB: four reads, the first body built from the first
      const ids = Array.from({ length: 100_000 }, (_, i) => `sku-${String(i).padStart(6, "0")}`)
      const formats: ReadonlyArray<readonly [IdFormat, string, string]> = [
        [lines, `${ids.join("\n")}\n`, "sku-1725"],
        [ndjson, `${ids.map((id) => JSON.stringify({ id })).join("\n")}\n`, `{"id":"sku-1725`],
        [csv, `id\n${ids.join("\n")}\n`, "sku-1725"]
      ]
      for (const [format, text, cutOff] of formats) {
        for (const change of ["append", "truncate"] as const) {
          const path = join(dir, `growing-${format._tag}-${change}`)
          writeFileSync(path, text)
          const source = yield* open(path, format, 10_485_760)
          const sent: Array<string> = []
          const error = yield* source.ids.pipe(
            BulkMetadata.chunk({ metadata: {}, maxBytes: 20_000 }),
            Stream.runForEach((chunk) =>
              Effect.sync(() => {
                // the writer goes on once the first body is out
                if (sent.length === 0 && change === "append") appendFileSync(path, cutOff)
                if (sent.length === 0 && change === "truncate") truncateSync(path, text.length - 4)
                sent.push(...chunk.ids)
              })
            ),
            Effect.flip
          )
          expect(error).toMatchObject({ _tag: "InputChangedError", path })
          expect(error.message).toMatch(new RegExp(`^${path} changed while it was read \\(${text.length} bytes when opened, ${
            change === "append" ? text.length + cutOff.length : text.length - 4
          } now; `))
          // what was sent are whole lines of the file as it was; the body of its last line never came
          expect(sent.length).toBeGreaterThan(0)
          expect(sent).toEqual(ids.slice(0, sent.length))
          expect(sent.length).toBeLessThan(ids.length)
        }
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("streams a file, tracking the share read, and refuses a missing one at once", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "cli-input-"))
      const path = join(dir, "ids.txt")
      // many reads: the reader reuses its buffers, so every id is compared
      const ids = Array.from({ length: 200_000 }, (_, i) => `prod_${i}`)
      writeFileSync(path, ids.join("\n"))
      const source = yield* open(path, lines, 10_485_760)
      expect(source.fraction()).toBe(0)
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(strings(source.ids)))).toEqual(ids)
      expect(source.fraction()).toBe(1)
      // packed from the bytes
      const bodies = yield* Stream.runCollect(source.ids.pipe(BulkMetadata.chunk({ metadata: {}, maxBytes: 100_000 })))
      expect(Chunk.toReadonlyArray(bodies).flatMap((body) => body.ids)).toEqual(ids)
      const ndjson = join(dir, "ids.ndjson")
      writeFileSync(ndjson, ids.map((id) => JSON.stringify({ id })).join("\n"))
      const parsed = yield* Stream.runCollect(strings((yield* open(ndjson, { _tag: "Ndjson", field: "id" }, 10_485_760)).ids))
      expect(Chunk.toReadonlyArray(parsed)).toEqual(ids)
      const missing = yield* Effect.flip(open(join(dir, "nope.txt"), lines, 10_485_760))
      expect(missing.message).toBe(`cannot read the ids file ${join(dir, "nope.txt")}: no such file or directory`)
      // an input without an id is refused before anything starts (stdin's by the run, test/cli-run.test.ts)
      for (const [name, text] of [["empty.txt", ""], ["blank.txt", "\uFEFF\n  \r\n\n"]]) {
        const empty = join(dir, name)
        writeFileSync(empty, text)
        expect((yield* Effect.flip(open(empty, lines, 10_485_760))).message).toBe(`${empty} has no ids`)
      }
      // a malformed first id is the run's to refuse, with its report (test/cli-input-checks.test.ts)
      const bad = join(dir, "bad.txt")
      writeFileSync(bad, "\n\n a\nb\n")
      const badSource = yield* open(bad, lines, 10_485_760)
      expect((yield* Effect.flip(Stream.runDrain(strings(badSource.ids)))).message).toBe(`line 3: the id " a" has leading or trailing whitespace`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("checks a CSV header when it opens the file, then reads every id", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "cli-input-"))
      const path = join(dir, "ids.csv")
      const rows = Array.from({ length: 20_000 }, (_, i) => `"name ${i}, with ""quotes""\nand a line break",prod_${i}`)
      writeFileSync(path, `name,id\r\n${rows.join("\r\n")}`)
      const source = yield* open(path, csv, 10_485_760)
      expect(yield* Stream.runCount(strings(source.ids))).toBe(20_000)
      expect(source.fraction()).toBe(1)
      const wrong = join(dir, "wrong.csv")
      writeFileSync(wrong, "name,code\nx,p1\n")
      expect((yield* Effect.flip(open(wrong, csv, 10_485_760))).message).toBe(
        `${wrong}, line 1: the header has no column "id" (columns: name, code)`
      )
      const empty = join(dir, "empty.csv")
      writeFileSync(empty, "\n\n")
      expect((yield* Effect.flip(open(empty, csv, 10_485_760))).message).toBe(
        `${empty}, line 1: the CSV has no header row naming the column "id"`
      )
      const headerOnly = join(dir, "header.csv")
      writeFileSync(headerOnly, "id")
      expect((yield* Effect.flip(open(headerOnly, csv, 10_485_760))).message).toBe(`${headerOnly} has no ids`)
    }).pipe(Effect.provide(NodeContext.layer)))
})
