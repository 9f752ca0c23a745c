/**
 * The three id file formats, as incremental parsers in plain code: text goes
 * in piece by piece (as it is read), ids come out, and nothing but the
 * current line is held. The hot path of a ten-million-line file stays out of
 * per-element Effect work.
 */
import * as Data from "effect/Data"

/**
 * One id per line, a column of a CSV file with a header row, or a field of
 * newline-delimited JSON objects.
 */
export type IdFormat =
  | { readonly _tag: "Lines" }
  | { readonly _tag: "Csv"; readonly column: string }
  | { readonly _tag: "Ndjson"; readonly field: string }

/** A line of the input that cannot be read; `line` counts from 1. */
export class MalformedLine extends Data.TaggedError("MalformedLine")<{
  readonly line: number
  readonly reason: string
}> {}

export interface IdParser {
  /** Takes the next piece of text; returns the ids it completed. Throws {@link MalformedLine}. */
  readonly push: (text: string) => Array<string>
  /** The text ended: returns the ids of an unterminated last line. */
  readonly end: () => Array<string>
}

type LineHandler = (line: string, lineNo: number, out: Array<string>) => void

const isBlank = (line: string) => line.trim().length === 0

const hasEdgeSpace = (id: string) => /\s/.test(id[0]!) || /\s/.test(id[id.length - 1]!)

/**
 * Refuses ids that are almost surely mistakes: products and customers are
 * upserted, so a stray space or a mangled byte would silently create a record.
 */
const checkId = (id: string, lineNo: number, what: string): string => {
  if (id.length === 0) throw new MalformedLine({ line: lineNo, reason: `${what} is empty` })
  if (hasEdgeSpace(id)) {
    throw new MalformedLine({ line: lineNo, reason: `${what} ${JSON.stringify(id)} has leading or trailing whitespace` })
  }
  if (id.includes("\uFFFD")) throw new MalformedLine({ line: lineNo, reason: "not valid UTF-8" })
  return id
}

/** Splits text into lines (LF or CRLF, a BOM dropped) and hands each to `handle`. */
const lineParser = (handle: LineHandler, finish: (lastLine: number) => void = () => {}): IdParser => {
  let rest = ""
  let lineNo = 0
  let started = false
  const take = (line: string, out: Array<string>) => {
    lineNo++
    handle(line.endsWith("\r") ? line.slice(0, -1) : line, lineNo, out)
  }
  return {
    push: (text) => {
      if (!started && text.length > 0) {
        started = true
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      const lines = (rest + text).split("\n")
      rest = lines.pop()!
      const out: Array<string> = []
      for (const line of lines) take(line, out)
      return out
    },
    end: () => {
      const out: Array<string> = []
      if (rest.length > 0) take(rest, out)
      rest = ""
      finish(lineNo)
      return out
    }
  }
}

const lines = (): IdParser =>
  lineParser((line, lineNo, out) => {
    if (!isBlank(line)) out.push(checkId(line, lineNo, "the id"))
  })

const ndjson = (field: string): IdParser =>
  lineParser((line, lineNo, out) => {
    if (isBlank(line)) return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new MalformedLine({ line: lineNo, reason: `not valid JSON (${(error as Error).message})` })
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new MalformedLine({ line: lineNo, reason: "expected a JSON object" })
    }
    const id = (value as Record<string, unknown>)[field]
    if (typeof id !== "string") {
      const got = id === undefined ? "it is missing" : `got ${id === null ? "null" : typeof id}`
      throw new MalformedLine({ line: lineNo, reason: `field "${field}" must be a string, ${got}` })
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
      if (record[i] !== ",") throw new MalformedLine({ line: lineNo, reason: "text after a closing quote" })
      i++
    } else {
      const comma = record.indexOf(",", i)
      const value = record.slice(i, comma === -1 ? record.length : comma)
      if (value.includes("\"")) {
        throw new MalformedLine({
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
        throw new MalformedLine({
          line: lineNo,
          reason: `the header has no column "${column}" (columns: ${names.join(", ")})`
        })
      }
      header = { width: fields.length, index }
      return
    }
    if (fields.length !== header.width) {
      throw new MalformedLine({
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
        throw new MalformedLine({ line: pending.startLine, reason: "a quoted field opened here is never closed" })
      }
      if (header === undefined) {
        throw new MalformedLine({ line: Math.max(lastLine, 1), reason: `the CSV has no header row naming the column "${column}"` })
      }
    }
  )
}

/** A fresh parser for one input. */
export const makeParser = (format: IdFormat): IdParser => {
  switch (format._tag) {
    case "Lines":
      return lines()
    case "Csv":
      return csv(format.column)
    case "Ndjson":
      return ndjson(format.field)
  }
}
