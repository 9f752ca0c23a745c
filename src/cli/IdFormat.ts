/**
 * The id file formats. One id per line is the library's `BulkMetadata.lines`;
 * CSV is read by csv-parse, in `CsvIds.ts`; NDJSON is an incremental parser
 * here, in plain code, on the library's line splitter: text goes in piece by
 * piece (as it is read), ids come out, and nothing but the current line is held.
 */
import { checkId, IdLineError, type IdParser, isBlank, type LineLimit, lineParser } from "../internal/bulk/idLines.js"

/**
 * One id per line, a column of a CSV file with a header row, or a field of
 * newline-delimited JSON objects.
 */
export type IdFormat =
  | { readonly _tag: "Lines" }
  | { readonly _tag: "Csv"; readonly column: string }
  | { readonly _tag: "Ndjson"; readonly field: string }

const ndjson = (field: string, maxLine: LineLimit | undefined): IdParser =>
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
  }, undefined, maxLine)

/**
 * A fresh parser for one NDJSON input (one id per line is `BulkMetadata.lines`,
 * CSV is `CsvIds.ts`); a line that runs past `maxLine` fails it there.
 */
export const makeParser = (format: Extract<IdFormat, { readonly _tag: "Ndjson" }>, maxLine?: LineLimit): IdParser =>
  ndjson(format.field, maxLine)
