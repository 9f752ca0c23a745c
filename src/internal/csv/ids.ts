/**
 * CSV ids: the ids of one column of a CSV file whose header row names the
 * columns (the CLI's `--column`), checked by the rules of `idLines.ts`.
 *
 * @internal
 */
import type * as Stream from "effect/Stream"
import { idError, IdLineError } from "../bulk/idLines.js"
import { decode, type Decoder } from "../text/decode.js"
import { type CsvSyntaxError, delimiterHint, type RecordLimit, type Row, rows } from "./rows.js"

interface Header {
  readonly width: number
  readonly index: number
}

/** The header row, which must name `column`. */
export const headerOf = (fields: Array<string>, line: number, column: string, delimiter?: string): Header | IdLineError => {
  const names = fields.map((name) => name.trim())
  const index = names.indexOf(column)
  return index === -1
    ? new IdLineError({
      line,
      reason: `the header has no column "${column}" (columns: ${names.join(", ")})${
        delimiterHint(names, delimiter, (d) => `give --delimiter ${d === "\t" ? "tab" : `"${d}"`}`)
      }`
    })
    : { width: fields.length, index }
}

export const noHeader = (column: string) =>
  new IdLineError({ line: 1, reason: `the CSV has no header row naming the column "${column}"` })

const decoder = (column: string, delimiter: string | undefined) => (): Decoder<Row, string, IdLineError> => {
  let header: Header | undefined
  return {
    push: ({ fields, line }, out) => {
      if (header === undefined) {
        const read = headerOf(fields, line, column, delimiter)
        if (read instanceof IdLineError) return read
        header = read
        return undefined
      }
      if (fields.length !== header.width) {
        return new IdLineError({ line, reason: `${fields.length} fields where the header has ${header.width}` })
      }
      const id = fields[header.index]!
      const refused = idError(id, line, `column "${column}"`)
      if (refused !== undefined) return refused
      out.push(id)
      return undefined
    },
    end: () => (header === undefined ? noHeader(column) : undefined)
  }
}

/** The ids of `column`; a record past `maxRecord` fails the stream there. */
export const columnIds = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  column: string,
  maxRecord?: RecordLimit,
  delimiter?: string
): Stream.Stream<string, E | IdLineError | CsvSyntaxError, R> => decode(rows(bytes, maxRecord, delimiter), decoder(column, delimiter))
