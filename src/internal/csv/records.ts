/**
 * CSV records: a header row names the columns; the id column names the
 * record, every other column is a metadata key. A cell is a string unless
 * its column's type is declared (`number`, `boolean`, `json`): a type is
 * never guessed from how a value looks, so `00123` stays a string. An empty
 * cell leaves its key out. Read with csv-parse (`rows.ts`).
 *
 * @internal
 */
import * as Stream from "effect/Stream"
import type { CsvOptions } from "../records/model.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import { bulkTargets } from "../bulkTargets.js"
import { inexactNumberReason } from "../exactNumber.js"
import type { RecordChecker, RecordError } from "../records/check.js"
import { inexactNumberIn } from "../records/ndjson.js"
import { decode, type Decoder } from "../text/decode.js"
import { CsvSyntaxError, delimiterHint, isDelimiter, type Row, rows } from "./rows.js"

/** The type of a column's cells, when it is not a string. */
type ColumnType = NonNullable<CsvOptions["types"]>[string]

/** A decimal number, as a spreadsheet writes one (never hex, octal, `1_000`, `NaN`, `Infinity`). */
const decimal = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** A cell's value by its column's type, or why it is not one. */
const convert = (type: ColumnType, cell: string): { readonly value: unknown } | string => {
  const text = cell.trim()
  switch (type) {
    case "number": {
      if (!decimal.test(text)) return `${JSON.stringify(cell)} is not a number`
      const value = Number(text)
      return inexactNumberReason(text) ?? { value }
    }
    case "boolean": {
      const lower = text.toLowerCase()
      return lower === "true" ? { value: true } : lower === "false" ? { value: false } : `${JSON.stringify(cell)} is not true or false`
    }
    case "json": {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        return `${JSON.stringify(cell)} is not JSON`
      }
      return inexactNumberIn(text) ?? { value }
    }
  }
}

interface Header {
  readonly width: number
  readonly idIndex: number
  /** Each other column: its index, its name (the metadata key) and its type. */
  readonly columns: ReadonlyArray<{ readonly index: number; readonly name: string; readonly type: ColumnType | undefined }>
}

/** The header row, checked against the options: a column named twice or a typo in `types` is refused. */
const headerOf = (
  fields: ReadonlyArray<string>,
  idColumn: string,
  types: Readonly<Record<string, ColumnType>>,
  delimiter: string | undefined
): Header | string => {
  const names = fields.map((name) => name.trim())
  const empty = names.indexOf("")
  if (empty !== -1) return `the header's column ${empty + 1} has no name`
  const twice = names.find((name, i) => names.indexOf(name) !== i)
  if (twice !== undefined) return `the header names the column "${twice}" twice`
  const idIndex = names.indexOf(idColumn)
  if (idIndex === -1) {
    return `the header has no column "${idColumn}" for the ids (columns: ${names.join(", ")})${
      delimiterHint(names, delimiter, (d) => `give the option delimiter: ${JSON.stringify(d)} (--delimiter ${d === "\t" ? "tab" : `"${d}"`} in the CLI)`)
    }`
  }
  for (const column of Object.keys(types)) {
    if (column === idColumn) return `the id column "${column}" cannot have a type: ids are strings`
    if (!names.includes(column)) return `a type is given for "${column}", which the header does not name (columns: ${names.join(", ")})`
  }
  return {
    width: names.length,
    idIndex,
    columns: names.flatMap((name, index) => index === idIndex ? [] : [{ index, name, type: types[name] }])
  }
}

/** The JSON text of each record of CSV bytes, checked; `checker` is made once per run of the stream. */
export const csvRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  target: BulkTarget,
  options: CsvOptions,
  checker: () => RecordChecker
): Stream.Stream<string, E | RecordError, R> =>
  Stream.suspend(() => {
    const check = checker()
    if (options.delimiter !== undefined && !isDelimiter(options.delimiter)) {
      // no line of the file can be read with it: refused as its first line is
      return Stream.fail(check.refuse(
        `the delimiter ${
          JSON.stringify(options.delimiter)
        } cannot separate CSV fields: give one ASCII character, a tab or a printable one but a quote or a space`,
        1
      ))
    }
    const { idField } = bulkTargets[target].records
    const idColumn = options.idColumn ?? idField
    const types = options.types ?? {}
    // vouchers require metadata; products and customers are left as they are without a metadata cell
    const alwaysMetadata = target === "vouchers"
    let header: Header | undefined
    const decoder = (): Decoder<Row, string, RecordError> => ({
      push: ({ fields, line }, out) => {
        if (header === undefined) {
          const read = headerOf(fields, idColumn, types, options.delimiter)
          if (typeof read === "string") return check.refuse(read, line)
          header = read
          return undefined
        }
        if (fields.length !== header.width) {
          return check.refuse(`${fields.length} fields where the header has ${header.width}`, line)
        }
        // no prototype: a column named __proto__ is a key like any other
        const metadata: Record<string, unknown> = Object.create(null)
        let keys = 0
        for (const { index, name, type } of header.columns) {
          const cell = fields[index]!
          if (cell.length === 0) continue
          if (type === undefined) {
            metadata[name] = cell
          } else {
            const converted = convert(type, cell)
            if (typeof converted === "string") return check.refuse(converted, line, name)
            metadata[name] = converted.value
          }
          keys++
        }
        const record = keys > 0 || alwaysMetadata ? { [idField]: fields[header.idIndex]!, metadata } : { [idField]: fields[header.idIndex]! }
        const json = check.take(record, line, idColumn)
        if (typeof json !== "string") return json
        out.push(json)
        return undefined
      },
      end: () => (header === undefined ? check.refuse(`the CSV has no header row naming the column "${idColumn}"`, 1) : undefined)
    })
    return decode(rows(bytes, undefined, options.delimiter), decoder).pipe(
      Stream.mapError((error) => error instanceof CsvSyntaxError ? check.refuse(error.reason, error.line) : error)
    )
  })
