/**
 * The id file formats. One id per line is the library's `BulkMetadata.lines`;
 * CSV is read by csv-parse (`internal/csv/ids.ts`); NDJSON is a field of each
 * line, read here on the library's line splitter: text goes in piece by
 * piece (as it is read), ids come out, and nothing but the current line is held.
 */
import { idError, IdLineError, lineIds } from "../internal/bulk/idLines.js"
import type { Decoder } from "../internal/text/decode.js"
import type { LineLimit } from "../internal/text/lines.js"

/**
 * One id per line, a column of a CSV file with a header row, or a field of
 * newline-delimited JSON objects.
 */
export type IdFormat =
  | { readonly _tag: "Lines" }
  | { readonly _tag: "Csv"; readonly column: string; readonly delimiter?: string | undefined }
  | { readonly _tag: "Ndjson"; readonly field: string }

/** The id in the field `field` of one NDJSON line, or why the line gives none. */
const fieldId = (field: string) => (line: string, lineNo: number): string | IdLineError => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    return new IdLineError({ line: lineNo, reason: `not valid JSON (${(error as Error).message})` })
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new IdLineError({ line: lineNo, reason: "expected a JSON object" })
  }
  const id = (value as Record<string, unknown>)[field]
  if (typeof id !== "string") {
    const got = id === undefined ? "it is missing" : `got ${id === null ? "null" : typeof id}`
    return new IdLineError({ line: lineNo, reason: `field "${field}" must be a string, ${got}` })
  }
  return idError(id, lineNo, `field "${field}"`) ?? id
}

/**
 * A fresh decoder for one NDJSON input (one id per line is `BulkMetadata.lines`,
 * CSV is `internal/csv/ids.ts`); a line that runs past `maxLine` fails it there.
 */
export const ndjsonIds = (
  format: Extract<IdFormat, { readonly _tag: "Ndjson" }>,
  maxLine?: LineLimit
): () => Decoder<Uint8Array, string, IdLineError> => lineIds(fieldId(format.field), maxLine)
