/**
 * The id file formats. One id per line is the library's `BulkMetadata.lines`;
 * CSV and NDJSON are incremental parsers here, in plain code, on the same
 * line splitter: text goes in piece by piece (as it is read), ids come out,
 * and nothing but the current line is held.
 */
import { checkId, IdLineError, type IdParser, isBlank, lineParser } from "../internal/idLines.js"

/**
 * One id per line, a column of a CSV file with a header row, or a field of
 * newline-delimited JSON objects.
 */
export type IdFormat =
  | { readonly _tag: "Lines" }
  | { readonly _tag: "Csv"; readonly column: string }
  | { readonly _tag: "Ndjson"; readonly field: string }

const ndjson = (field: string): IdParser =>
  lineParser((line, lineNo, out) => {
    if (isBlank(line)) return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new IdLineError({ line: lineNo, reason: `not valid JSON (${(error as Error).message})` })
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new IdLineError({ line: lineNo, reason: "expected a JSON object" })
    }
    const id = (value as Record<string, unknown>)[field]
    if (typeof id !== "string") {
      const got = id === undefined ? "it is missing" : `got ${id === null ? "null" : typeof id}`
      throw new IdLineError({ line: lineNo, reason: `field "${field}" must be a string, ${got}` })
    }
    out.push(checkId(id, lineNo, `field "${field}"`))
  })

/** Splits one complete CSV record (RFC 4180: `""` escapes a quote inside quotes). */
const csvFields = (record: string, lineNo: number): Array<string> => {
  if (!record.includes("\"")) return record.split(",")
  const fields: Array<string> = []
  let i = 0
  for (;;) {
    if (record[i] === "\"") {
      let value = ""
      i++
      for (;;) {
        const quote = record.indexOf("\"", i)
        value += record.slice(i, quote)
        if (record[quote + 1] === "\"") {
          value += "\""
          i = quote + 2
        } else {
          i = quote + 1
          break
        }
      }
      fields.push(value)
      if (i === record.length) return fields
      if (record[i] !== ",") throw new IdLineError({ line: lineNo, reason: "text after a closing quote" })
      i++
    } else {
      const comma = record.indexOf(",", i)
      const value = record.slice(i, comma === -1 ? record.length : comma)
      if (value.includes("\"")) {
        throw new IdLineError({
          line: lineNo,
          reason: "a quote inside an unquoted field (quote the whole field and double the quote)"
        })
      }
      fields.push(value)
      if (comma === -1) return fields
      i = comma + 1
    }
  }
}

const countQuotes = (text: string) => {
  let count = 0
  for (let i = text.indexOf("\""); i !== -1; i = text.indexOf("\"", i + 1)) count++
  return count
}

const csv = (column: string): IdParser => {
  let header: { readonly width: number; readonly index: number } | undefined
  // A quoted field may span lines: the record is held until its quotes balance.
  let pending: { record: string; startLine: number; quotes: number } | undefined
  const onRecord = (record: string, lineNo: number, out: Array<string>) => {
    if (isBlank(record)) return
    const fields = csvFields(record, lineNo)
    if (header === undefined) {
      const names = fields.map((name) => name.trim())
      const index = names.indexOf(column)
      if (index === -1) {
        throw new IdLineError({
          line: lineNo,
          reason: `the header has no column "${column}" (columns: ${names.join(", ")})`
        })
      }
      header = { width: fields.length, index }
      return
    }
    if (fields.length !== header.width) {
      throw new IdLineError({
        line: lineNo,
        reason: `${fields.length} fields where the header has ${header.width}`
      })
    }
    out.push(checkId(fields[header.index]!, lineNo, `column "${column}"`))
  }
  return lineParser(
    (line, lineNo, out) => {
      const quotes = countQuotes(line)
      if (pending !== undefined) {
        pending.record += `\n${line}`
        pending.quotes += quotes
      } else {
        pending = { record: line, startLine: lineNo, quotes }
      }
      if (pending.quotes % 2 === 1) return
      const { record, startLine } = pending
      pending = undefined
      onRecord(record, startLine, out)
    },
    (lastLine) => {
      if (pending !== undefined) {
        throw new IdLineError({ line: pending.startLine, reason: "a quoted field opened here is never closed" })
      }
      if (header === undefined) {
        throw new IdLineError({ line: Math.max(lastLine, 1), reason: `the CSV has no header row naming the column "${column}"` })
      }
    }
  )
}

/** A fresh parser for one input of a format made of records. */
export const makeParser = (format: Exclude<IdFormat, { readonly _tag: "Lines" }>): IdParser => {
  switch (format._tag) {
    case "Csv":
      return csv(format.column)
    case "Ndjson":
      return ndjson(format.field)
  }
}
