/**
 * The id file formats. The line formats are incremental parsers in plain
 * code: text goes in piece by piece (as it is read), ids come out, and
 * nothing but the current line is held. The hot path of a ten-million-line
 * file stays out of per-element Effect work. CSV is read by csv-parse, in
 * `CsvIds.ts`.
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
export const checkId = (id: string, lineNo: number, what: string): string => {
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

/** A fresh parser for one input of a line format (CSV has its own reader, in `CsvIds.ts`). */
export const makeParser = (format: Exclude<IdFormat, { readonly _tag: "Csv" }>): IdParser => {
  switch (format._tag) {
    case "Lines":
      return lines()
    case "Ndjson":
      return ndjson(format.field)
  }
}
