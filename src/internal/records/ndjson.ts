/**
 * NDJSON records: one JSON object a line, in the API's shape, read from
 * bytes as they come. Each line is cut out of the read buffer and decoded
 * on its own (a line of ASCII becomes a one-byte string, which `JSON.parse`
 * reads several times faster than the two-byte string a whole read decodes
 * to once it holds one accented letter), parsed, checked, and sent as its
 * own text: the bytes the user wrote, which mean what was checked once no
 * key is written twice in one object (parsers differ on which one wins), a
 * rule the line's one scan enforces with the exact-number rule.
 *
 * @internal
 */
import type * as Stream from "effect/Stream"
import { inexactNumberReason } from "../exactNumber.js"
import { decode } from "../text/decode.js"
import { LineSplitter } from "../text/lines.js"
import type { RecordChecker, RecordError } from "./check.js"

/**
 * With a sync state (and the ids known to be distinct): a line whose exact
 * text Voucherify confirmed before passed every check when it was sent, and
 * is not sent again: it is counted, not parsed.
 */
export interface KnownLines {
  readonly isKnown: (text: string) => boolean
  /** Lines passed over as known, since the state's stage last took the count. */
  skipped: number
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

const isNumberPart = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x45 || c === 0x65

/**
 * One pass over a JSON text: the number of object members it writes (one
 * colon outside strings each), or why a number in it cannot be carried
 * exactly (`12345678901234567890` would arrive rounded).
 */
export const scanJson = (json: string): number | string => {
  const n = json.length
  let members = 0
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i)
    if (c === QUOTE) {
      // a string: to its closing quote, past escapes
      for (i++; i < n; i++) {
        const d = json.charCodeAt(i)
        if (d === BACKSLASH) i++
        else if (d === QUOTE) break
      }
    } else if (c === COLON) {
      members++
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i
      while (i < n && isNumberPart(json.charCodeAt(i))) i++
      const reason = inexactNumberReason(json.slice(start, i))
      if (reason !== undefined) return reason
      i--
    }
  }
  return members
}

/** The first number of a JSON text that a double cannot carry exactly, or undefined. */
export const inexactNumberIn = (json: string): string | undefined => {
  const scanned = scanJson(json)
  return typeof scanned === "string" ? scanned : undefined
}

/** How many object members a parsed JSON value holds: fewer than its text writes when a key is repeated. */
const membersOf = (value: unknown): number => {
  if (typeof value !== "object" || value === null) return 0
  let members = 0
  if (Array.isArray(value)) {
    for (const item of value) members += membersOf(item)
  } else {
    for (const key in value) members += 1 + membersOf((value as Record<string, unknown>)[key])
  }
  return members
}

const capped = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

/** One NDJSON line, `bytes[start..end)`: its record's JSON text into `out`, or why it is refused. */
const takeLine = (
  checker: RecordChecker,
  known: KnownLines | undefined,
  bytes: Buffer,
  start: number,
  end: number,
  line: number,
  out: Array<string>
): RecordError | undefined => {
  if (end === start) return undefined
  const text = bytes.toString("utf8", start, end)
  if (bytes[start]! <= 0x20 && text.trim().length === 0) return undefined
  // the decoder turned every byte sequence that is not UTF-8 into U+FFFD
  if (text.includes("\uFFFD")) {
    return checker.refuse("not valid UTF-8 (a U+FFFD written as such counts too: escape it as \\ufffd)", line)
  }
  if (known !== undefined && known.isKnown(text)) {
    checker.pass()
    known.skipped++
    return undefined
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return checker.refuse(`not valid JSON: ${capped((error as Error).message)}`, line)
  }
  const members = scanJson(text)
  if (typeof members === "string") return checker.refuse(members, line)
  if (members !== membersOf(value)) {
    return checker.refuse("a key is written twice in one object (JSON parsers differ on which value wins)", line)
  }
  const json = checker.takeText(value, text, line)
  if (typeof json !== "string") return json
  out.push(json)
  return undefined
}

/**
 * The JSON text of each record of NDJSON bytes, checked; `checker` is made
 * once per run of the stream.
 */
export const ndjsonRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  checker: () => RecordChecker,
  known?: KnownLines
): Stream.Stream<string, E | RecordError, R> =>
  decode(bytes, () => {
    const check = checker()
    // A line longer than a body can be no record that fits one (its text is
    // what is sent, but for a BOM and a CR): refused before it is all held.
    // A whole line in one read is refused by the checker, naming its size.
    return new LineSplitter<string, RecordError>(
      (bytes, start, end, line, out) => takeLine(check, known, bytes, start, end, line, out),
      check.maxBytes + 4,
      (line) => check.refuse(`the line is longer than any record a body takes (${check.maxBytes} bytes)`, line),
      false
    )
  })
