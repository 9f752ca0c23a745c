/**
 * NDJSON records: one JSON object a line, in the API's shape. Each line is
 * decoded, parsed, checked and re-encoded as it is read; nothing but the
 * current read is held. The JSON sent is the record as it was checked:
 * `JSON.stringify` of the parsed line, so a key written twice goes as the
 * parser read it, not as the line spelled it.
 *
 * @internal
 */
import type * as Stream from "effect/Stream"
import { type IdParser, lineParser, parseLines } from "../bulk/idLines.js"
import { type RecordChecker, type RecordError, isRecordError } from "./check.js"
import { inexactNumberReason } from "./rules.js"

/** 16 digits in a row: a number that may not survive `JSON.parse` (or an id of many digits). */
const longDigits = /\d{16}/

const capped = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

/**
 * The first number of a JSON text that a double cannot carry exactly, or
 * undefined. Walks the text once, skipping strings.
 */
export const inexactNumberIn = (json: string): string | undefined => {
  const n = json.length
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i)
    if (c === 0x22) {
      // a string: skip to its closing quote, past escapes
      for (i++; i < n && json.charCodeAt(i) !== 0x22; i++) if (json.charCodeAt(i) === 0x5c) i++
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i
      while (i + 1 < n && /[-+.eE0-9]/.test(json[i + 1]!)) i++
      const token = json.slice(start, i + 1)
      const reason = inexactNumberReason(token, Number(token))
      if (reason !== undefined) return reason
    }
  }
  return undefined
}

const isBlankLine = (line: string) => line.length === 0 || (line.charCodeAt(0) <= 0x20 && line.trim().length === 0)

/** A parser of NDJSON records for one input; what it pushes is each record's JSON text. */
export const ndjsonParser = (checker: RecordChecker): IdParser =>
  lineParser((line, lineNo, out) => {
    if (isBlankLine(line)) return
    // the decoder turned every byte sequence that is not UTF-8 into U+FFFD
    if (line.includes("\uFFFD")) {
      throw checker.refuse("not valid UTF-8 (a U+FFFD written as such counts too: escape it as \\ufffd)", lineNo)
    }
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw checker.refuse(`not valid JSON: ${capped((error as Error).message)}`, lineNo)
    }
    if (longDigits.test(line)) {
      const inexact = inexactNumberIn(line)
      if (inexact !== undefined) throw checker.refuse(inexact, lineNo)
    }
    const json = checker.take(value, lineNo)
    if (typeof json !== "string") throw json
    out.push(json)
  })

/** The JSON text of each record of NDJSON bytes, checked. */
export const ndjsonRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  checker: () => RecordChecker
): Stream.Stream<string, E | RecordError, R> => parseLines(bytes, () => ndjsonParser(checker()), isRecordError)
