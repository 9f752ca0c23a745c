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
import type { RecordChecker, RecordError } from "./check.js"
import { type Reader, readRecords } from "./reader.js"
import { inexactNumberReason } from "../exactNumber.js"

const LF = 0x0a
const CR = 0x0d
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

/** Reads NDJSON lines into checked records' JSON text, throwing a {@link RecordError} at a bad line. */
class NdjsonReader implements Reader<Uint8Array> {
  /** Lines taken, blank ones included: the next is line `line + 1`. */
  private line = 0
  /** The start of a line that the end of a read cut off, in pieces, copied: the reader reuses its buffers. */
  private carry: Array<Buffer> = []
  private carried = 0

  constructor(private readonly checker: RecordChecker, private readonly maxLineBytes: number) {}

  /** The records of the lines `piece` completes, into `out`. */
  push(piece: Uint8Array, out: Array<string>): void {
    const bytes = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    let start = 0
    if (this.carried > 0) {
      const lf = bytes.indexOf(LF)
      if (lf === -1) {
        this.keep(bytes, 0)
        return
      }
      const line = this.joined(bytes.subarray(0, lf))
      this.take(line, 0, line.length, out)
      start = lf + 1
    }
    for (let lf = bytes.indexOf(LF, start); lf !== -1; lf = bytes.indexOf(LF, start)) {
      this.take(bytes, start, lf, out)
      start = lf + 1
    }
    if (start < bytes.length) this.keep(bytes, start)
  }

  /** The input ended: a last line without its line break is a line all the same. */
  end(out: Array<string>): void {
    if (this.carried === 0) return
    const line = this.joined(Buffer.alloc(0))
    this.take(line, 0, line.length, out)
  }

  /** Keeps `bytes[start..]`, the start of a line, copied once. */
  private keep(bytes: Buffer, start: number): void {
    this.carried += bytes.length - start
    // A line that long can be no record that fits a body (its text is what is sent, but
    // for a BOM and a CR): refused before it is all held.
    if (this.carried > this.maxLineBytes + 4) {
      throw this.checker.refuse(
        `the line is longer than any record a body takes (${this.maxLineBytes} bytes)`,
        this.line + 1
      )
    }
    this.carry.push(Buffer.from(bytes.subarray(start)))
  }

  /** The kept start of a line and its `end`, as one buffer; nothing is kept after. */
  private joined(end: Buffer): Buffer {
    const line = Buffer.concat([...this.carry, end])
    this.carry = []
    this.carried = 0
    return line
  }

  private take(bytes: Buffer, start: number, end: number, out: Array<string>): void {
    const line = ++this.line
    if (end > start && bytes[end - 1] === CR) end--
    if (line === 1 && end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) {
      start += 3
    }
    if (end === start) return
    const text = bytes.toString("utf8", start, end)
    if (bytes[start]! <= 0x20 && text.trim().length === 0) return
    // the decoder turned every byte sequence that is not UTF-8 into U+FFFD
    if (text.includes("\uFFFD")) {
      throw this.checker.refuse("not valid UTF-8 (a U+FFFD written as such counts too: escape it as \\ufffd)", line)
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw this.checker.refuse(`not valid JSON: ${capped((error as Error).message)}`, line)
    }
    const members = scanJson(text)
    if (typeof members === "string") throw this.checker.refuse(members, line)
    if (members !== membersOf(value)) {
      throw this.checker.refuse("a key is written twice in one object (JSON parsers differ on which value wins)", line)
    }
    const json = this.checker.takeText(value, text, line)
    if (typeof json !== "string") throw json
    out.push(json)
  }
}

/**
 * The JSON text of each record of NDJSON bytes, checked; `checker` is made
 * once per run of the stream.
 */
export const ndjsonRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  checker: () => RecordChecker
): Stream.Stream<string, E | RecordError, R> =>
  readRecords(bytes, () => {
    const check = checker()
    return new NdjsonReader(check, check.maxBytes)
  })
