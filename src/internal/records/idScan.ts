/**
 * The id of each record of a records file, found by a light scan of its
 * bytes, without parsing the record: for NDJSON the top-level id member of
 * each line, for CSV the id column of each record. What it finds is what the
 * run's own readers would take as the id, in any file they accept; in a file
 * they refuse it may find anything, or stop, and the run refuses it as
 * before. Plain code, no Effect: a first pass over a file runs it a million
 * times.
 *
 * @internal
 */
import { readSync } from "node:fs"
import { open } from "node:fs/promises"
import { bomAt, CR, LF } from "../text/lines.js"

const QUOTE = 0x22
const COMMA = 0x2c
const BACKSLASH = 0x5c

/** How the ids of a file are written: the NDJSON member or the CSV column that holds them. */
export type IdFormat =
  | { readonly _tag: "Ndjson"; readonly field: string }
  | { readonly _tag: "Csv"; readonly column: string; /** One ASCII character; `,` by default. */ readonly delimiter?: string | undefined }

/**
 * One id as it was written: `bytes[start..end)` is its token (a JSON string
 * with its quotes, or a CSV field, quoted or not); `line` the line its record
 * starts on, from 1; `record` its position among the records, from 0, as a
 * report counts them. Return `true` to stop the scan.
 */
export type OnId = (bytes: Buffer, start: number, end: number, line: number, record: number) => boolean | void

interface Scanner {
  /**
   * Hands over the ids of the complete records of `bytes[from..to)`, which
   * starts a record; returns where the first incomplete one starts (`to`
   * once `last`, the end of the file), or -1 to stop: a record no reader
   * takes, after which nothing is certain.
   */
  readonly scan: (bytes: Buffer, from: number, to: number, last: boolean, onId: OnId) => number
  /** Whether a record so far had no id this scanner could find (the run reads it otherwise, or refuses it). */
  readonly missed: () => boolean
}

const isJsonSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === CR || c === LF

/** Whether `bytes[start..end)` holds a backslash: a JSON string with an escape. */
const hasEscape = (bytes: Buffer, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) if (bytes[i] === BACKSLASH) return true
  return false
}

/** The end of the JSON string that opens at `at` (after its closing quote), or -1. */
const stringEnd = (bytes: Buffer, at: number, to: number): number => {
  for (let i = at + 1; i < to; i++) {
    const c = bytes[i]!
    if (c === QUOTE) return i + 1
    if (c === BACKSLASH) i++
  }
  return -1
}

/** The end of the JSON value that starts at `at`, or -1: strings and brackets are followed, nothing checked. */
const valueEnd = (bytes: Buffer, at: number, to: number): number => {
  const first = bytes[at]
  if (first === QUOTE) return stringEnd(bytes, at, to)
  if (first === 0x7b || first === 0x5b) {
    let depth = 0
    for (let i = at; i < to; i++) {
      const c = bytes[i]!
      if (c === QUOTE) {
        i = stringEnd(bytes, i, to) - 1
        if (i < 0) return -1
      } else if (c === 0x7b || c === 0x5b) {
        depth++
      } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
        return i + 1
      }
    }
    return -1
  }
  let i = at
  while (i < to && bytes[i] !== COMMA && bytes[i] !== 0x7d && !isJsonSpace(bytes[i])) i++
  return i
}

/** The text of a JSON string token with its quotes, as `JSON.parse` reads it; undefined if it is none. */
export const jsonStringText = (bytes: Buffer, start: number, end: number): string | undefined => {
  if (!hasEscape(bytes, start, end)) return bytes.toString("utf8", start + 1, end - 1)
  try {
    const text: unknown = JSON.parse(bytes.toString("utf8", start, end))
    return typeof text === "string" ? text : undefined
  } catch {
    return undefined
  }
}

/** Whether the token `bytes[start..end)` is the JSON string `name` (`"source_id"`, or an escaped spelling of it). */
const isName = (bytes: Buffer, start: number, end: number, name: Buffer): boolean => {
  if (hasEscape(bytes, start, end)) return jsonStringText(bytes, start, end) === name.toString("utf8")
  if (end - start !== name.length + 2) return false
  // byte by byte: Buffer's compare costs more to call than a short name takes
  for (let i = 0; i < name.length; i++) if (bytes[start + 1 + i] !== name[i]) return false
  return true
}

/**
 * NDJSON: the value of the first top-level member named `field`, when it is
 * a string. A line with that key twice is refused by the run (JSON parsers
 * differ on which one wins); any other line of an object has one.
 */
const ndjsonScanner = (field: string): Scanner => {
  const name = Buffer.from(field, "utf8")
  // `{"source_id":"`: how almost every line starts, read without the member loop
  const opening = Buffer.from(`{${JSON.stringify(field)}:"`, "utf8")
  let line = 0
  let records = 0
  let missed = false
  /** The id token the last {@link idOf} found. */
  let idStart = 0
  let idEnd = 0
  /** Whether the object `bytes[at..to)` has an id: its token is then `idStart..idEnd`. */
  const idOf = (bytes: Buffer, at: number, to: number): boolean => {
    let i = 0
    while (i < opening.length && bytes[at + i] === opening[i]) i++
    if (i === opening.length) {
      idStart = at + i - 1
      idEnd = stringEnd(bytes, idStart, to)
      return idEnd !== -1
    }
    i = at + 1
    for (;;) {
      while (i < to && isJsonSpace(bytes[i])) i++
      if (bytes[i] !== QUOTE) return false
      const keyEnd = stringEnd(bytes, i, to)
      if (keyEnd === -1) return false
      const key = i
      i = keyEnd
      while (i < to && isJsonSpace(bytes[i])) i++
      if (bytes[i] !== 0x3a) return false
      i++
      while (i < to && isJsonSpace(bytes[i])) i++
      const end = valueEnd(bytes, i, to)
      if (end === -1) return false
      if (isName(bytes, key, keyEnd, name)) {
        idStart = i
        idEnd = end
        return bytes[i] === QUOTE
      }
      i = end
      while (i < to && isJsonSpace(bytes[i])) i++
      if (bytes[i] !== COMMA) return false
      i++
    }
  }
  return {
    scan: (bytes, from, to, last, onId) => {
      const view = bytes.subarray(0, to)
      let at = from
      while (at < to) {
        let lf = view.indexOf(LF, at)
        if (lf === -1) {
          if (!last) return at
          lf = to
        }
        line++
        let start = at
        if (line === 1) start += bomAt(bytes, start, lf)
        at = lf + 1
        while (start < lf && isJsonSpace(bytes[start])) start++
        if (start === lf) continue
        const record = records++
        if (bytes[start] !== 0x7b || !idOf(bytes, start, lf)) missed = true
        else if (onId(bytes, idStart, idEnd, line, record) === true) return -1
      }
      return to
    },
    missed: () => missed
  }
}

/** The text of a CSV field token, as csv-parse reads it: quotes taken off, doubled ones halved. */
export const csvFieldText = (bytes: Buffer, start: number, end: number): string =>
  bytes[start] === QUOTE
    ? bytes.toString("utf8", start + 1, end - 1).replaceAll("\"\"", "\"")
    : bytes.toString("utf8", start, end)

/** A record that is one blank field: csv-parse's reader skips it (`internal/csv/records.ts`). */
const isBlankField = (bytes: Buffer, start: number, end: number): boolean => {
  const first = bytes[start]
  // a printable ASCII character is no white space: most records stop here
  if (first !== undefined && first > 0x20 && first < 0x7f && first !== QUOTE) return false
  return csvFieldText(bytes, start, end).trim().length === 0
}

/**
 * CSV as the records' reader takes it (RFC 4180 with a BOM, CRLF or LF, quoted
 * fields with doubled quotes and line breaks, blank records skipped): the
 * header names the id column, then each record's field in it.
 */
const csvScanner = (column: string, delimiter: number): Scanner => {
  let line = 1
  let records = 0
  let missed = false
  let idIndex = -1
  let atStart = true
  /** The field tokens of one record, reused. */
  const starts: Array<number> = []
  const ends: Array<number> = []
  return {
    scan: (bytes, from, to, last, onId) => {
      let at = from
      if (atStart) {
        if (to - at < 3 && !last) return at
        at += bomAt(bytes, at, to)
        atStart = false
      }
      while (at < to) {
        // one record: its fields' tokens, and the line breaks quoted in them
        let fields = 0
        let breaks = 0
        let i = at
        let next = -1
        for (;;) {
          const start = i
          if (bytes[i] === QUOTE) {
            for (i++;; i++) {
              if (i >= to) {
                if (!last) return at
                return -1
              }
              const c = bytes[i]!
              if (c === LF) breaks++
              else if (c === QUOTE) {
                if (i + 1 >= to && !last) return at
                if (bytes[i + 1] !== QUOTE) break
                i++
              }
            }
            i++
          } else {
            while (i < to && bytes[i] !== delimiter && bytes[i] !== LF) {
              if (bytes[i] === QUOTE) return -1
              i++
            }
            if (i >= to && !last) return at
          }
          starts[fields] = start
          let end = i
          if (bytes[i] === LF && end > start && bytes[end - 1] === CR && bytes[start] !== QUOTE) end--
          ends[fields++] = end
          if (i >= to) {
            next = to
            break
          }
          const c = bytes[i]
          if (c === delimiter) {
            i++
            continue
          }
          if (c === CR && bytes[i + 1] === LF) i++
          else if (c === CR && i + 1 >= to && !last) return at
          if (bytes[i] !== LF) return -1
          next = i + 1
          break
        }
        const recordLine = line
        line += 1 + breaks
        at = next
        if (fields === 1 && isBlankField(bytes, starts[0]!, ends[0]!)) continue
        if (idIndex === -1) {
          const names = Array.from({ length: fields }, (_, f) => csvFieldText(bytes, starts[f]!, ends[f]!).trim())
          idIndex = names.indexOf(column)
          // no such column: the run refuses the header before it sends a thing
          if (idIndex === -1) return -1
          continue
        }
        const record = records++
        if (idIndex >= fields) missed = true
        else if (onId(bytes, starts[idIndex]!, ends[idIndex]!, recordLine, record) === true) return -1
      }
      return to
    },
    missed: () => missed
  }
}

const scannerOf = (format: IdFormat): Scanner =>
  format._tag === "Ndjson" ? ndjsonScanner(format.field) : csvScanner(format.column, (format.delimiter ?? ",").charCodeAt(0))

/** The text of an id token of `format`: what the run's reader makes of it. */
export const idText = (format: IdFormat, bytes: Buffer, start: number, end: number): string | undefined =>
  format._tag === "Ndjson" ? jsonStringText(bytes, start, end) : csvFieldText(bytes, start, end)

/** The first read, grown while one record is longer. */
const readBytes = 1 << 20

/** Reads the id token `start..end` of a file again (a few bytes, rarely). */
export type ReadBack = (start: number, end: number) => Buffer

/**
 * Hands every id of the file at `path` to `onId`, in order, reading it once;
 * `offset` turns a token's position in `bytes` into its position in the file,
 * and `readBack` reads a token of the file by those positions. A record longer
 * than `maxRecordBytes`, or one no reader takes, ends the scan there, as
 * `onId` returning `true` does. `signal` stops it between reads. True when
 * every record of the file was looked at and had its id handed on.
 */
export const scanFile = async (
  path: string,
  format: IdFormat,
  maxRecordBytes: number,
  onId: (bytes: Buffer, start: number, end: number, line: number, record: number, offset: number, readBack: ReadBack) =>
    boolean | void,
  signal?: AbortSignal
): Promise<boolean> => {
  const file = await open(path, "r")
  try {
    const scanner = scannerOf(format)
    const readBack: ReadBack = (start, end) => {
      const token = Buffer.allocUnsafe(end - start)
      readSync(file.fd, token, 0, token.length, start)
      return token
    }
    let bytes = Buffer.allocUnsafe(readBytes)
    /** The file position of `bytes[0]`, and how many bytes it holds. */
    let base = 0
    let filled = 0
    const handOn: OnId = (buffer, start, end, line, record) => onId(buffer, start, end, line, record, base, readBack)
    for (;;) {
      signal?.throwIfAborted()
      if (filled === bytes.length) {
        // one record fills the buffer
        if (bytes.length > maxRecordBytes + readBytes) return false
        const larger = Buffer.allocUnsafe(bytes.length * 2)
        bytes.copy(larger, 0, 0, filled)
        bytes = larger
      }
      const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, base + filled)
      filled += bytesRead
      const last = bytesRead === 0
      const at = scanner.scan(bytes, 0, filled, last, handOn)
      if (at === -1) return false
      if (last) return !scanner.missed()
      bytes.copy(bytes, 0, at, filled)
      base += at
      filled -= at
    }
  } finally {
    await file.close()
  }
}
