/**
 * The first look for a repeated id in a records file (internal/records/
 * duplicates.ts, idScan.ts): what it finds is what the run's readers would,
 * a hash collision never refuses a good file, and records across the reads
 * of a large file are read whole.
 */
import { describe, expect, it } from "@effect/vitest"
import { parse } from "csv-parse/sync"
import { findDuplicate, type Hash, type IdFormat } from "../src/internal/records/duplicates.js"
import { idText, scanFile } from "../src/internal/records/idScan.js"
import { scratch } from "./support/cli.js"

const { file } = scratch("duplicates-")
const ndjson: IdFormat = { _tag: "Ndjson", field: "source_id" }
const csv = (column = "source_id"): IdFormat => ({ _tag: "Csv", column })

const look = (name: string, text: string, format: IdFormat = ndjson, hash?: Hash) =>
  findDuplicate(file(name, text), format, { maxRecordBytes: 10_000_000, hash })

/** The repeat a look found, if any. */
const find = async (name: string, text: string, format: IdFormat = ndjson, hash?: Hash) => {
  const found = await look(name, text, format, hash)
  return found._tag === "Repeated" ? found.duplicate : undefined
}

const lines = (ids: ReadonlyArray<string>) => ids.map((id) => JSON.stringify({ source_id: id, metadata: { n: 1 } })).join("\n") + "\n"

/** Every id the scan finds, as text, with its line. */
const idsOf = async (path: string, format: IdFormat) => {
  const found: Array<readonly [string | undefined, number]> = []
  await scanFile(path, format, 10_000_000, (bytes, start, end, line) => {
    found.push([idText(format, bytes, start, end), line])
  })
  return found
}

describe("findDuplicate, NDJSON", () => {
  it("says every id is different only when it read every record's id", async () => {
    expect(await look("all.ndjson", lines(["a", "b", "c"]))).toEqual({ _tag: "Distinct" })
    // a record whose id this look cannot read, one that is not an object, one without an id, a bad escape
    for (const odd of ['{"metadata":{},"source_id":7}', "[1]", '{"metadata":{}}', '{"source_id":"\\x"}']) {
      expect(await look("odd.ndjson", lines(["a"]) + odd + "\n" + lines(["b"])), odd).toEqual({ _tag: "NoneSeen" })
    }
  })

  it("finds nothing in a file of different ids, and the first line whose id came before", async () => {
    expect(await find("unique.ndjson", lines(["a", "b", "c"]))).toBeUndefined()
    // b comes again on line 3 before a does on line 4: the run would stop at line 3
    expect(await find("twice.ndjson", lines(["a", "b", "b", "a"]))).toEqual({ id: "b", first: 2, line: 3, record: 2 })
  })

  it("counts lines as the run does: a BOM, CRLF and blank lines", async () => {
    const text = `\uFEFF{"source_id":"a"}\r\n\r\n   \n{"source_id":"b"}\r\n{"source_id":"a"}`
    expect(await find("crlf.ndjson", text)).toEqual({ id: "a", first: 1, line: 5, record: 2 })
  })

  it("reads the id as JSON.parse does: escapes, key order, nested members, strings with brackets", async () => {
    expect(await find("escaped.ndjson", `{"source_id":"dup-0"}\n{"source_id":"dup\\u002d0"}\n`))
      .toEqual({ id: "dup-0", first: 1, line: 2, record: 1 })
    expect(await find("key.ndjson", `{"source\\u005fid":"k"}\n{ "price" : 1 , "source_id" : "k" }\n`))
      .toEqual({ id: "k", first: 1, line: 2, record: 1 })
    const nested = [
      `{"metadata":{"source_id":"inner","s":"}\\"{"},"tags":["source_id",{"a":[1]}],"source_id":"outer-1"}`,
      `{"name":"source_id","source_id":"outer-2","metadata":{"source_id":"inner"}}`,
      `{"source_id":"é"}`,
      `{"source_id":"\\u00e9"}`
    ].join("\n")
    expect(await idsOf(file("nested.ndjson", nested), ndjson)).toEqual([["outer-1", 1], ["outer-2", 2], ["é", 3], ["é", 4]])
    expect(await find("nested.ndjson", nested)).toEqual({ id: "é", first: 3, line: 4, record: 3 })
  })

  it("takes no id from a line without a string id, and keeps different ids apart", async () => {
    const text = [`[1]`, `{"source_id":5}`, `{"id":"x"}`, `{"source_id":"X"}`, `{"source_id":"x "}`, `{"source_id":"x"}`].join("\n")
    expect(await idsOf(file("odd.ndjson", text), ndjson)).toEqual([["X", 4], ["x ", 5], ["x", 6]])
  })

  it("reads records across the reads of a large file, and a line longer than a read", async () => {
    const ids = Array.from({ length: 30_000 }, (_, i) => `sku-${i}-${"x".repeat(i % 50)}`)
    const long = `{"metadata":{"note":"${"y".repeat(3_000_000)}"},"source_id":"sku-7-xxxxxxx"}`
    const text = lines(ids.slice(0, 20_000)) + long + "\n" + lines(ids.slice(20_000))
    expect(await find("large.ndjson", text)).toEqual({ id: "sku-7-xxxxxxx", first: 8, line: 20_001, record: 20_000 })
    expect(await find("large-unique.ndjson", lines(ids))).toBeUndefined()
  })
})

describe("findDuplicate, a forced hash collision", () => {
  // every id hashes alike: each one is a candidate, and only the real ids decide
  const same: Hash = () => 7
  const few: Hash = (_, start, end) => (end - start) % 3

  it("refuses no file of different ids", async () => {
    expect(await find("collide.ndjson", lines(["a", "b", "c", "d"]), ndjson, same)).toBeUndefined()
    expect(await find("collide.csv", "source_id\na\nb\n\"c\"\n", csv(), same)).toBeUndefined()
    const many = Array.from({ length: 5_000 }, (_, i) => `id-${i}`)
    expect(await find("collide-many.ndjson", lines(many), ndjson, few)).toBeUndefined()
    // and says so: the run may then keep no map of the ids
    expect(await look("collide-look.ndjson", lines(["a", "b", "c", "d"]), ndjson, same)).toEqual({ _tag: "Distinct" })
  })

  it("still finds the real repeat among colliding ids, with both lines", async () => {
    expect(await find("collide-twice.ndjson", lines(["y", "x", "z", "x"]), ndjson, same))
      .toEqual({ id: "x", first: 2, line: 4, record: 3 })
    const many = Array.from({ length: 5_000 }, (_, i) => `id-${i}`)
    expect(await find("collide-many-twice.ndjson", lines([...many, "id-4321"]), ndjson, few))
      .toEqual({ id: "id-4321", first: 4322, line: 5001, record: 5000 })
  })
})

describe("findDuplicate, CSV", () => {
  it("reads the id column as csv-parse does: quotes, doubled quotes, commas and line breaks in fields", async () => {
    const text = [
      "\uFEFFname, sku ,tier",
      "\"Ball, red\",b-1,gold",
      "\"Two\nlines\",\"b-2\",\"x\"\"y\"",
      "",
      "plain,\"b\"\"3\",",
      "\"\",b-4,\"\"",
      "last,b-5,z"
    ].join("\r\n")
    const path = file("quoted.csv", text)
    const records = (parse(text, { bom: true, relax_column_count: true, record_delimiter: ["\r\n", "\n"] }) as Array<Array<string>>)
      .filter((fields) => !(fields.length === 1 && fields[0]!.trim() === "")).slice(1)
    expect((await idsOf(path, csv("sku"))).map(([id]) => id)).toEqual(records.map((fields) => fields[1]))
    expect((await idsOf(path, csv("sku"))).map(([, line]) => line)).toEqual([2, 3, 6, 7, 8])
    expect(await findDuplicate(path, csv("sku"), { maxRecordBytes: 1_000 })).toEqual({ _tag: "Distinct" })
  })

  it("finds a repeat written once quoted and once not, in any column, with both lines", async () => {
    expect(await find("twice.csv", "tier,source_id\ngold,p1\nsilver,p2\n\nbronze,\"p1\"\n", csv()))
      .toEqual({ id: "p1", first: 2, line: 5, record: 2 })
    expect(await find("doubled.csv", "code\n\"a\"\"b\"\nc\n\"a\"\"b\"\n", csv("code")))
      .toEqual({ id: "a\"b", first: 2, line: 4, record: 2 })
  })

  it("looks no further than a record csv-parse refuses, or a header without the column", async () => {
    expect(await find("bad.csv", "source_id\np1\np1\nx\"y\np2\np2\n", csv())).toEqual({ id: "p1", first: 2, line: 3, record: 1 })
    expect(await find("late-bad.csv", "source_id\np1\nx\"y\np1\n", csv())).toBeUndefined()
    expect(await find("no-column.csv", "sku\np1\np1\n", csv())).toBeUndefined()
    // none of them says every id is different: the run keeps checking
    expect(await look("late-bad-look.csv", "source_id\np1\nx\"y\np1\n", csv())).toEqual({ _tag: "NoneSeen" })
    expect(await look("no-column-look.csv", "sku\np1\np1\n", csv())).toEqual({ _tag: "NoneSeen" })
  })
})
