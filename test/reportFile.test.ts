/**
 * The report-file decoder: any table written as CSV the ways a server might
 * write it reads back exactly, in any byte chunks; every malformation is a
 * typed error that says where.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { decode } from "../src/internal/asyncAction/reportFile.js"
import { renderReportCsv } from "../src/testing/internal/reportCsv.js"
import { ReportDecodeError } from "../src/VoucherifyError.js"

const encoder = new TextEncoder()

/** The bytes cut at the given offsets: characters and records straddle chunks. */
const cut = (bytes: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const ends = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Array<Uint8Array> = []
  let start = 0
  for (const end of [...ends, bytes.length]) {
    pieces.push(bytes.slice(start, end))
    start = end
  }
  return pieces
}

const rowsOf = (pieces: ReadonlyArray<Uint8Array>) =>
  Effect.map(Stream.runCollect(decode(Stream.fromIterable(pieces))), Chunk.toReadonlyArray)

const read = (text: string, size = 4) => rowsOf(cut(encoder.encode(text), Array.from({ length: text.length }, (_, i) => i * size)))

const failure = (text: string) => Effect.flip(read(text))

// Ids and cells with everything CSV must escape, and characters that span bytes.
const awkward = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(",", "\"", "\n", "\r", "\r\n", " ", "\t", "\uFEFF", "é", "🎉", "ż") },
    { weight: 3, arbitrary: fc.constantFrom("a", "B", "7", "_", "-") },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) }
  ),
  maxLength: 12
})

const trueWords = ["true", "TRUE", "True", "1", " true "]
const falseWords = ["false", "FALSE", "False", "0", "false "]

/** Column names the way a server might spell them. */
const spelling = (name: string) =>
  fc.constantFrom(name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1), ` ${name} `)

const extraNames = ["name", "error", "details", "__proto__", "created at"]

interface Table {
  readonly idColumn: string
  readonly extras: ReadonlyArray<string>
  readonly rows: ReadonlyArray<{
    readonly id: string
    readonly found: boolean
    readonly updated: boolean
    readonly cells: ReadonlyArray<string>
  }>
}

const table: fc.Arbitrary<Table> = fc
  .record({
    idColumn: fc.constantFrom("source_id", "code", "id"),
    extras: fc.uniqueArray(fc.constantFrom(...extraNames, "code", "id"), { maxLength: 3 })
  })
  .chain(({ extras, idColumn }) => {
    // A lower-ranked id column is just another column; a higher-ranked one would be the id.
    const rank = ["source_id", "code", "id"]
    const kept = extras.filter((name) => !rank.includes(name) || rank.indexOf(name) > rank.indexOf(idColumn))
    return fc.record({
      idColumn: fc.constant(idColumn),
      extras: fc.constant(kept),
      rows: fc.array(
        fc.record({
          id: awkward.filter((id) => id.length > 0),
          found: fc.boolean(),
          updated: fc.boolean(),
          cells: fc.array(awkward, { minLength: kept.length, maxLength: kept.length })
        }),
        { maxLength: 25 }
      )
    })
  })

/** How the table is written: column order, spellings, quoting, BOM, line ends, blank lines. */
const layout = (t: Table) =>
  fc.record({
    order: fc.shuffledSubarray([...Array(3 + t.extras.length).keys()], { minLength: 3 + t.extras.length }),
    names: fc.tuple(...[t.idColumn, "found", "updated", ...t.extras].map(spelling)),
    trues: fc.array(fc.constantFrom(...trueWords), { minLength: 64, maxLength: 64 }),
    falses: fc.array(fc.constantFrom(...falseWords), { minLength: 64, maxLength: 64 }),
    quoteAll: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
    bom: fc.boolean(),
    lineEnds: fc.array(fc.constantFrom("\n", "\r\n"), { minLength: 1, maxLength: 8 }),
    blankAfter: fc.array(fc.nat(30), { maxLength: 3 }),
    finalLineEnd: fc.boolean(),
    offsets: fc.array(fc.nat(), { maxLength: 12 })
  })

type Layout = typeof layout extends (t: Table) => fc.Arbitrary<infer L> ? L : never

const render = (t: Table, l: Layout) => {
  let k = 0
  const next = <A>(values: ReadonlyArray<A>) => values[k++ % values.length]!
  const quote = (value: string) =>
    /[",\r\n]/.test(value) || next(l.quoteAll) ? `"${value.replaceAll("\"", "\"\"")}"` : value
  const record = (fields: ReadonlyArray<string>) => l.order.map((i) => quote(fields[i]!)).join(",")
  const lines = [record(l.names)]
  t.rows.forEach((row, i) => {
    lines.push(record([
      row.id,
      row.found ? next(l.trues) : next(l.falses),
      row.updated ? next(l.trues) : next(l.falses),
      ...row.cells
    ]))
    if (l.blankAfter.includes(i)) lines.push("")
  })
  let text = l.bom ? "\uFEFF" : ""
  lines.forEach((line, i) => {
    text += line
    if (i < lines.length - 1 || l.finalLineEnd) text += next(l.lineEnds)
  })
  return text
}

const expected = (t: Table) =>
  t.rows.map((row) => ({
    id: row.id,
    found: row.found,
    updated: row.updated,
    columns: Object.fromEntries(t.extras.map((name, i) => [name, row.cells[i]!]))
  }))

describe("decode", () => {
  it.effect.prop(
    "reads back any table, however it is written and cut",
    [table.chain((t) => fc.tuple(fc.constant(t), layout(t)))],
    ([[t, l]]) =>
      Effect.gen(function*() {
        const bytes = encoder.encode(render(t, l))
        const rows = yield* rowsOf(cut(bytes, l.offsets))
        expect(rows).toEqual(expected(t))
      }),
    { fastCheck: { numRuns: 300 } }
  )

  it.effect("reads what the test doubles write", () =>
    Effect.gen(function*() {
      const rows = [
        { id: "plain", found: true, updated: true },
        { id: "a, \"b\"\r\nc", found: false, updated: true },
        { id: " spaced ", found: true, updated: false }
      ]
      for (const idColumn of ["source_id", "code"] as const) {
        const read = yield* rowsOf(cut(renderReportCsv(rows, idColumn), [1, 5, 9, 30]))
        expect(read).toEqual(rows.map((row) => ({ ...row, columns: {} })))
      }
      expect(new TextDecoder().decode(renderReportCsv(rows.slice(0, 2), "code"))).toBe(
        "code,found,updated\r\nplain,true,true\r\n\"a, \"\"b\"\"\r\nc\",false,true\r\n"
      )
    }))

  it.effect("prefers source_id, then code, then id, and keeps the other columns", () =>
    Effect.gen(function*() {
      const rows = yield* read("ID,Code,found,updated,Note\nx,c1,true,true,n1\n")
      expect(rows).toEqual([{ id: "c1", found: true, updated: true, columns: { id: "x", note: "n1" } }])
      expect(Object.keys((yield* read("id,found,updated,__proto__\nx,1,0,p\n"))[0]!.columns)).toEqual(["__proto__"])
      expect(yield* read("source_id,found,updated\n")).toEqual([])
    }))
})

describe("ReportDecodeError", () => {
  it.effect("names the header that lacks a needed column", () =>
    Effect.gen(function*() {
      const noUpdated = yield* failure("Source_ID,found,note\na,true,x\n")
      expect(noUpdated).toBeInstanceOf(ReportDecodeError)
      expect(noUpdated).toMatchObject({ header: ["Source_ID", "found", "note"], reason: `the header has no "updated" column` })
      expect(noUpdated.message).toBe(
        `Could not read the report file: the header has no "updated" column (header: ["Source_ID","found","note"])`
      )
      expect((yield* failure("code,updated\n")).reason).toBe(`the header has no "found" column`)
      expect((yield* failure("name,found,updated\n")).reason).toBe("the header has no id column (source_id, code or id)")
      expect((yield* failure("name\n")).reason).toBe(
        `the header has no id column (source_id, code or id), "found" column or "updated" column`
      )
      expect((yield* failure("code,found,Found,updated\n")).reason).toBe(`the header names "found" twice`)
      const empty = yield* failure("\uFEFF\n\n")
      expect(empty).toMatchObject({ header: [], reason: "the file is empty: it has no header row" })
    }))

  it.effect("names the line, record and column of a bad cell", () =>
    Effect.gen(function*() {
      const text = "code,found,updated\r\nA,true,true\r\n\r\n\"multi\nline\",0,1\r\nB,yes,true\r\n"
      const bad = yield* failure(text)
      expect(bad).toMatchObject({ line: 6, record: 3, column: "found", reason: `"yes" is not true, false, 1 or 0` })
      expect(bad.message).toBe(
        `Could not read the report file, line 6 (record 3), column "found": "yes" is not true, false, 1 or 0`
      )
      expect(yield* failure("id,found, Updated \nA,1,\n")).toMatchObject({ line: 2, record: 1, column: "Updated" })
      expect(yield* failure("id,found,updated\n,1,1\n")).toMatchObject({ line: 2, column: "id", reason: "the id is empty" })
    }))

  it.effect("names the line of a record of the wrong width or broken quoting", () =>
    Effect.gen(function*() {
      expect(yield* failure("id,found,updated\nA,1,1\nB,1\n")).toMatchObject({
        line: 3,
        record: 2,
        reason: "2 fields where the header has 3"
      })
      expect(yield* failure("id,found,updated\nA,1,1\n\"B,1,1\nC,1,1\n")).toMatchObject({
        line: 3,
        reason: "a quoted field opened here is never closed"
      })
      expect((yield* failure("id,found,updated\nA\"x\",1,1\n")).line).toBe(2)
      expect((yield* failure("id,found,updated\n\"A\"x,1,1\n")).reason).toBe("text after a closing quote")
    }))

  it.effect("passes the body stream's own failure through", () =>
    Effect.gen(function*() {
      const broken = Stream.concat(Stream.make(encoder.encode("id,found,updated\nA,1,1\n")), Stream.fail("connection reset"))
      expect(yield* Effect.flip(Stream.runDrain(decode(broken)))).toBe("connection reset")
    }))
})
