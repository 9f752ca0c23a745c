/**
 * Per-record updates in memory (`VoucherifyTest`, on the TestClock): the
 * records refused before they are sent, an id given twice, the three single
 * calls, the shape check against its schema, and the in-memory double's
 * per-record endpoints.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as BulkRecords from "../src/BulkRecords.js"
import { RecordChecker } from "../src/internal/records/check.js"
import { ndjsonRecords } from "../src/internal/records/ndjson.js"
import { shapeOf } from "../src/internal/records/shape.js"
import { VoucherifyTest } from "../src/testing/index.js"
import { Voucherify } from "../src/Voucherify.js"
import { BulkRecord, type BulkTarget } from "../src/VoucherifySchema.js"

const withTest = (options?: VoucherifyTest.Options) => Effect.provide(VoucherifyTest.layer({ processingDelay: 0, ...options }))

const bytesOf = (text: string) => Stream.make(new TextEncoder().encode(text))

const bulkCalls = Effect.flatMap(VoucherifyTest.VoucherifyTestState, (state) =>
  Effect.map(state.calls, (calls) => calls.filter((call) => call.method === "sendEncodedBulkRequest")))

/** The run's failure: its RecordError and its report. */
const refusal = <A, E, R>(run: Effect.Effect<A, E, R>) => Effect.flip(run)

describe("BulkRecords refuses a record before it is sent, naming its line", () => {
  const ndjson = (lines: ReadonlyArray<string>, target: BulkTarget = "products", maxBytes?: number) =>
    BulkRecords.run(BulkRecords.ndjson(bytesOf(lines.join("\n"))), { target, ...(maxBytes ? { maxBytes } : {}) })

  const good = (i: number) => JSON.stringify({ source_id: `ok-${i}`, metadata: { i } })

  const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>, RegExp]> = [
    ["an unknown field", `{"source_id":"p","metdata":{"tier":"gold"}}`, { field: "metdata" }, /unknown field "metdata"/],
    ["a price that is not an integer", `{"source_id":"p","price":12.5}`, { field: "price" }, /expected an integer, actual 12\.5/],
    ["metadata that is not an object", `{"source_id":"p","metadata":["gold"]}`, { field: "metadata" }, /must be a JSON object, got an array/],
    ["an empty id", `{"source_id":"","metadata":{}}`, { field: "source_id" }, /must not be empty/],
    ["an id with a control character", `{"source_id":"p\\u0007","metadata":{}}`, { field: "source_id" }, /the id "p\\u0007" contains a control character.*U\+0007/],
    ["an id with a space at an end", `{"source_id":"p ","metadata":{}}`, { field: "source_id" }, /must not begin or end with whitespace/],
    ["a line that is not JSON", `{"source_id":"p",}`, {}, /not valid JSON/],
    ["a line that is not an object", `["p"]`, {}, /a record must be a JSON object, got an array/],
    ["a number a double would round", `{"source_id":"p","metadata":{"n":12345678901234567890}}`, {}, /would arrive as 12345678901234567000/],
    ["a number too small for a double, which would arrive as 0", `{"source_id":"p","metadata":{"n":1e-400}}`, {}, /1e-400 cannot be sent exactly \(it would arrive as 0\)/],
    ["a number too large for a double", `{"source_id":"p","price":1e400}`, {}, /1e400 cannot be sent exactly \(too large for a JSON number\)/],
    ["a missing id", `{"metadata":{"tier":"gold"}}`, { field: "source_id" }, /is missing/],
    ["a key written twice", `{"source_id":"p","metadata":{"tier":"gold","tier":"silver"}}`, {}, /a key is written twice in one object/],
    ["a U+FFFD, as bytes that are not UTF-8 decode to", `{"source_id":"p\uFFFD"}`, {}, /not valid UTF-8/]
  ]
  for (const [name, line, fields, reason] of cases) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const failed = yield* refusal(ndjson([good(1), "", good(2), line, good(3)]))
        expect(failed.error).toMatchObject({ _tag: "RecordError", line: 4, offset: 2, ...fields })
        expect(failed.error.message).toMatch(/^line 4: /)
        expect(failed.error.message).toMatch(reason)
        // the records before it were read; nothing after it
        expect(failed.report).toMatchObject({ status: "failed", total: 2 })
        const sent = yield* bulkCalls
        expect(sent.reduce((n, call) => n + (call.ids ?? 0), 0)).toBeLessThanOrEqual(2)
      }).pipe(withTest()))
  }

  it.effect("a record too large for any body", () =>
    Effect.gen(function*() {
      const large = JSON.stringify({ source_id: "big", name: "x".repeat(300) })
      const failed = yield* refusal(ndjson([good(1), large, ""], "products", 300))
      expect(failed.error).toMatchObject({ _tag: "RecordError", line: 2 })
      expect(failed.error.message).toBe(
        `line 2: the record takes ${Buffer.byteLength(large)} bytes, more than the 298 a body leaves for it`
      )
    }).pipe(withTest()))

  it.effect("a line longer than any body is refused as soon as a read shows it, before it is all held", () =>
    Effect.gen(function*() {
      // one read a line of 64 bytes: the second line never ends
      const pieces = [good(1), `\n{"source_id":"p","name":"`, ..."x".repeat(40).split("").map(() => "x".repeat(64))]
      const failed = yield* refusal(BulkRecords.run(
        BulkRecords.ndjson(Stream.fromIterable(pieces.map((piece) => new TextEncoder().encode(piece)))),
        { target: "products", maxBytes: 1000 }
      ))
      expect(failed.error.message).toBe("line 2: the line is longer than any record a body takes (998 bytes)")
      expect(failed.report.total).toBe(1)
    }).pipe(withTest()))

  it.effect("a line is sent as it was written, spaces and escapes included, once its value is checked", () =>
    Effect.gen(function*() {
      const state = yield* VoucherifyTest.VoucherifyTestState
      const line = String.raw`  { "source_id" : "caf\u00e9", "metadata" : { "n" : 1.50, "s" : "\"q\"" } }  `
      const report = yield* BulkRecords.run(BulkRecords.ndjson(bytesOf(`\uFEFF${line}\r\n`)), { target: "products" })
      expect(report.bytes).toBe(Buffer.byteLength(line) + 2)
      expect(yield* state.metadata("products", "café")).toEqual(Option.some({ n: 1.5, s: "\"q\"" }))
    }).pipe(withTest()))

  it.effect("vouchers need their metadata; customers a real birthdate and only the address fields the spec lists", () =>
    Effect.gen(function*() {
      const voucher = yield* refusal(ndjson([`{"code":"V1"}`], "vouchers"))
      expect(voucher.error.message).toBe("line 1: metadata: is missing")
      const birthdate = yield* refusal(ndjson([`{"source_id":"c","birthdate":"2023-02-29"}`], "customers"))
      expect(birthdate.error.message).toBe("line 1: birthdate: 2023-02-29 is not a day of the calendar")
      const address = yield* refusal(ndjson([`{"source_id":"c","address":{"zip":"00-950"}}`], "customers"))
      expect(address.error).toMatchObject({ field: "address.zip" })
    }).pipe(withTest()))

  it.effect("a CSV names the line and the column; a type is checked against the header", () =>
    Effect.gen(function*() {
      const run = (text: string, options: BulkRecords.CsvOptions) =>
        refusal(BulkRecords.run(BulkRecords.csv(bytesOf(text), options), { target: "products" }))
      const number = yield* run("sku,weight\nsku-1,12\nsku-2,\"12,5\"\n", { idColumn: "sku", types: { weight: "number" } })
      expect(number.error).toMatchObject({ line: 3, column: "weight", offset: 1 })
      expect(number.error.message).toBe(`line 3, column "weight": "12,5" is not a number`)
      const boolean = yield* run("source_id,active\np,yes\n", { types: { active: "boolean" } })
      expect(boolean.error.message).toBe(`line 2, column "active": "yes" is not true or false`)
      const id = yield* run("sku,tier\n\" p\",gold\n", { idColumn: "sku" })
      expect(id.error.message).toBe(`line 2, column "sku": source_id: must not begin or end with whitespace, got " p"`)
      const typo = yield* run("sku,weight\np,1\n", { idColumn: "sku", types: { wieght: "number" } })
      expect(typo.error.message).toMatch(/^line 1: a type is given for "wieght", which the header does not name/)
      const noIdColumn = yield* run("sku,weight\np,1\n", {})
      expect(noIdColumn.error.message).toMatch(/^line 1: the header has no column "source_id"/)
      const width = yield* run("source_id,tier\np,gold,extra\n", {})
      expect(width.error.message).toBe("line 2: 3 fields where the header has 2")
      const big = yield* run("source_id,n\np,12345678901234567890\n", { types: { n: "number" } })
      expect(big.error.message).toMatch(/line 2, column "n": 12345678901234567890 cannot be sent exactly \(it would arrive as 12345678901234567000\)/)
    }).pipe(withTest()))

  it.effect("a delimiter that cannot separate fields is refused before a record is read, and nothing is sent", () =>
    Effect.gen(function*() {
      for (const delimiter of ["", "\"", "\n", ";;", " ", "é"]) {
        const failed = yield* refusal(
          BulkRecords.run(BulkRecords.csv(bytesOf("source_id;tier\nsku-1;gold\n"), { delimiter }), { target: "products" })
        )
        expect(failed.error.message, JSON.stringify(delimiter)).toBe(
          `line 1: the delimiter ${JSON.stringify(delimiter)} cannot separate CSV fields: ` +
            "give one ASCII character, a tab or a printable one but a quote or a space"
        )
        expect(failed.report.total).toBe(0)
      }
      expect(yield* bulkCalls).toEqual([])
      // read with another separator than the comma, a header is not said to look ";"-separated
      const other = yield* refusal(
        BulkRecords.run(BulkRecords.csv(bytesOf("sku;tier\nsku-1;gold\n"), { delimiter: "|" }), { target: "products" })
      )
      expect(other.error.message).toBe(`line 1: the header has no column "source_id" for the ids (columns: sku;tier)`)
      const comma = yield* refusal(BulkRecords.run(BulkRecords.csv(bytesOf("sku;tier\nsku-1;gold\n")), { target: "products" }))
      expect(comma.error.message).toMatch(/its fields look separated by ";", not commas/)
    }).pipe(withTest()))

  it.effect("records of a stream are named by their offset", () =>
    Effect.gen(function*() {
      const failed = yield* refusal(
        BulkRecords.run(
          Stream.make({ source_id: "a" }, { source_id: "b", price: Number.NaN }),
          { target: "products" }
        )
      )
      expect(failed.error.message).toBe("records[1]: price: expected an integer, actual NaN")
    }).pipe(withTest()))
})

describe("NDJSON read from bytes", () => {
  it.effect("gives the same records wherever the reads cut the text, inside a character, a CRLF or a BOM", () =>
    Effect.gen(function*() {
      const lines = [
        `{"source_id":"a","metadata":{"city":"Zürich","emoji":"🎁"}}`,
        "",
        String.raw`{"source_id":"東京","name":"x\\y"}`,
        `   `,
        `{"source_id":"c","metadata":{"n":-1.5e-3}}`
      ]
      const bytes = new TextEncoder().encode(`\uFEFF${lines.join("\r\n")}`)
      const expected = [lines[0], lines[2], lines[4]]
      for (const size of [1, 2, 3, 5, 7, 64, bytes.length]) {
        const pieces: Array<Uint8Array> = []
        for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.slice(i, i + size))
        const records = yield* ndjsonRecords(Stream.fromIterable(pieces), () => new RecordChecker("products", 1000)).pipe(
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(records), `pieces of ${size}`).toEqual(expected)
      }
    }))
})

describe("an id given twice in one run", () => {
  it.effect("is refused naming both lines, and the second record is never sent, whatever the concurrency", () =>
    Effect.gen(function*() {
      const state = yield* VoucherifyTest.VoucherifyTestState
      const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ source_id: `d${i}`, metadata: { v: 1 } }))
      lines.push(JSON.stringify({ source_id: "d3", metadata: { v: 2 } }))
      const failed = yield* refusal(
        BulkRecords.run(BulkRecords.ndjson(bytesOf(lines.join("\n"))), {
          target: "products",
          concurrency: 4,
          maxBytes: 200
        })
      )
      expect(failed.error).toMatchObject({ _tag: "RecordError", line: 41, field: "source_id", offset: 40 })
      expect(failed.error.message).toMatch(/^line 41: source_id: "d3" is also on line 4: a run takes each record once/)
      expect(failed.report.total).toBe(40)
      // the engine's words are the run's: records, not ids
      expect(failed.report.unit).toBe("records")
      expect(failed.report.accepted.items).toBeGreaterThan(0)
      expect(failed.message).toMatch(/^bulk run stopped after \d+ of 40 records were accepted: line 41: /)
      // the first value is the only one the store ever saw
      expect(yield* state.metadata("products", "d3")).toEqual(Option.some({ v: 1 }))
    }).pipe(withTest()))

  it.effect("in a stream of records, naming both offsets", () =>
    Effect.gen(function*() {
      const failed = yield* refusal(
        BulkRecords.run([{ code: "A", metadata: {} }, { code: "B", metadata: {} }, { code: "A", metadata: { x: 1 } }], {
          target: "vouchers"
        })
      )
      expect(failed.error.message).toMatch(/^records\[2\]: code: "A" is also records\[0\]/)
    }).pipe(withTest()))
})

describe("the single per-record calls", () => {
  it.effect("send one body to the target's endpoint and start a *.BULK_UPDATE action that stores each record", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      const products = yield* voucherify.updateProductsInBulk([
        { source_id: "p1", name: "Ball", price: 1999, metadata: { tier: "gold" } },
        { source_id: "p2", attributes: ["size"] }
      ])
      const customers = yield* voucherify.updateCustomersInBulk([{ source_id: "c1", address: null, metadata: { vip: true } }])
      const vouchers = yield* voucherify.updateVouchersInBulk([{ code: "V1", metadata: { channel: "email" } }, {
        code: "V404",
        metadata: {}
      }])
      // three actions of a second each, one after another
      yield* TestClock.adjust("3 seconds")
      const types = yield* Effect.forEach([products, customers, vouchers], (accepted) =>
        Effect.map(voucherify.getAsyncAction(accepted.async_action_id), (action) => [action.type, action.result] as const))
      expect(types.map(([type]) => type)).toEqual(["PRODUCTS.BULK_UPDATE", "CUSTOMERS.BULK_UPDATE", "VOUCHERS.BULK_UPDATE"])
      expect(types[2]![1]).toMatchObject({ done_count: 1, failed_count: 1, errors: [{ code: "V404", key: "not_found" }] })
      expect(yield* state.record("products", "p1")).toEqual(
        Option.some({ fields: { name: "Ball", price: 1999 }, metadata: { color: "red", tier: "gold" } })
      )
      expect(yield* state.record("products", "p2")).toEqual(Option.some({ fields: { attributes: ["size"] }, metadata: {} }))
      expect(yield* state.record("customers", "c1")).toEqual(Option.some({ fields: { address: null }, metadata: { vip: true } }))
      expect(yield* state.metadata("vouchers", "V1")).toEqual(Option.some({ channel: "email" }))
      expect(yield* state.record("vouchers", "V404")).toEqual(Option.none())
      // the report file says which product was created
      const report = yield* voucherify.getAsyncAction(products.async_action_id)
      const rows = yield* Stream.runCollect(voucherify.readReport(report.result!.reports![0]!))
      expect([...rows].map((r) => [r.id, r.found, r.updated])).toEqual([["p1", true, true], ["p2", false, true]])
    }).pipe(withTest({ records: { products: { p1: { color: "red" } }, vouchers: ["V1"] }, processingDelay: "1 second" })))

  it.effect("refuse a record, an id given twice and a body over the limit before anything is sent", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const unknown = yield* Effect.flip(voucherify.updateProductsInBulk([
        { source_id: "p1" },
        { source_id: "p2", metdata: {} } as never
      ]))
      expect(unknown).toMatchObject({ _tag: "InvalidRequestError", path: "records[1].metdata", offset: 1 })
      const twice = yield* Effect.flip(voucherify.updateVouchersInBulk([{ code: "A", metadata: {} }, { code: "A", metadata: {} }]))
      expect(twice).toMatchObject({ _tag: "InvalidRequestError", path: "records[1].code" })
      expect(twice.message).toMatch(/"A" is also records\[0\]/)
      const empty = yield* Effect.flip(voucherify.updateCustomersInBulk([]))
      expect(empty).toMatchObject({ _tag: "InvalidRequestError", path: "records" })
      const large = yield* Effect.flip(voucherify.updateProductsInBulk([{ source_id: "p", name: "x".repeat(600) }]))
      expect(large).toMatchObject({ _tag: "PayloadTooLargeError", source: "local", limit: 500 })
      const state = yield* VoucherifyTest.VoucherifyTestState
      expect(yield* state.asyncActions).toEqual([])
    }).pipe(withTest({ maxPayloadBytes: 500 })))

  it.effect("take scripted failures and failed actions like the metadata calls", () =>
    Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const state = yield* VoucherifyTest.VoucherifyTestState
      yield* state.setFaults({ rules: [{ fault: { _tag: "ActionFailed" }, method: "POST", first: 1 }] })
      const failed = yield* voucherify.updateProductsInBulk([{ source_id: "p1", metadata: { a: 1 } }])
      const action = yield* voucherify.getAsyncAction(failed.async_action_id)
      expect(action).toMatchObject({ status: "FAILED", result: { done_count: 0, failed_count: 1 } })
      expect(yield* state.record("products", "p1")).toEqual(Option.none())
    }).pipe(withTest()))
})

describe("the compiled shape check", () => {
  // values each field can meet: right ones, wrong types, edge values
  const values: ReadonlyArray<unknown> = [
    "x", "", " x", "a\u0000b", 1, 1.5, -0, Number.NaN, Infinity, true, null, undefined, [], ["a"], ["a", 1], {},
    { a: 1 }, { a: undefined }, { a: Number.NaN }, { city: "x" }, { city: 1 }, { zip: "x" }, "2020-02-29", "2021-02-29",
    new Date(0), [{ a: [1, { b: null }] }]
  ]
  for (const target of ["products", "customers", "vouchers"] as const) {
    it(`answers as the schema does, field by field: ${target}`, () => {
      const schema = BulkRecord[target]
      const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown>, { onExcessProperty: "error" })
      const shape = shapeOf(target)
      const fields = Object.keys(schema.fields)
      const base: Record<string, unknown> = target === "vouchers" ? { code: "c", metadata: {} } : { source_id: "s" }
      let checked = 0
      for (const field of [...fields, "unknown"]) {
        for (const value of values) {
          const record = { ...base, [field]: value }
          expect(shape.check(record) === undefined, `${field} = ${String(value)}`).toBe(Either.isRight(decode(record)))
          checked++
        }
      }
      expect(checked).toBeGreaterThan(50)
    })
  }
})
