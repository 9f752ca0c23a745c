/**
 * Ids in text, one record a line: the rules an id must follow, and the
 * decoder of ids in lines the string path and the CLI's NDJSON share (the
 * packer reads plain one-id-per-line bytes itself: `linePacker.ts`). Plain
 * code: it runs once per line.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { largestMaxPayloadBytes as largestMaxBytes } from "../limits.js"
import type { Decoder } from "../text/decode.js"
import { type LineLimit, LineSplitter, type Seen } from "../text/lines.js"

/** `BulkMetadata.IdLineError`. */
export class IdLineError extends Schema.TaggedError<IdLineError>()("IdLineError", {
  /** The line, counted from 1 (blank lines included). */
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `line ${this.line}: ${this.reason}`
  }
}

/** A line of nothing but whitespace: skipped. */
export const isBlank = (line: string): boolean => line.trim().length === 0

const hasEdgeSpace = (id: string) => /\s/.test(id[0]!) || /\s/.test(id[id.length - 1]!)

/**
 * The one rule for control characters in ids, wherever ids come from: lines,
 * CSV, NDJSON, standard input, and the library's own check of any id it
 * packs. U+0000 to U+001F and U+007F to U+009F (C0, DEL, C1) are refused: no
 * product or customer id holds one, and an id that does is a mistake (a tab
 * of a delimited file, CR line ends, a stray escape) that an upsert would
 * turn into a junk record.
 */
export const isControlCode = (c: number): boolean => c <= 0x1f || (c >= 0x7f && c <= 0x9f)

/** The index of the first control character of `id` ({@link isControlCode}), or -1. A plain loop: nothing allocated. */
export const controlAt = (id: string): number => {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i)
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return i
  }
  return -1
}

const controlNames: Readonly<Record<number, string>> = {
  0x00: "NUL",
  0x09: "a tab",
  0x0a: "a line feed",
  0x0d: "a carriage return",
  0x1b: "ESC",
  0x7f: "DEL",
  0x85: "NEL"
}

/** What one id-per-line text with tabs, or with CRs and no LFs, most likely is. */
export const delimitedHint = "looks like a delimited file: use --column <name> (with the file saved as CSV)"
export const crOnlyHint = "line ends are CR only? Convert them to LF"

const previewLength = 40

/** DEL and the C1 controls, which `JSON.stringify` leaves as they are (U+009B starts an escape sequence on some terminals). */
const unescapedControls = /[\u007f-\u009f]/g

const escaped = (text: string): string =>
  JSON.stringify(text).replace(unescapedControls, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * An id as JSON shows it, every control character escaped, cut short: a
 * message names it, it neither repeats a megabyte nor sends a terminal
 * escape sequence.
 */
export const preview = (id: string): string =>
  id.length <= previewLength ? escaped(id) : `${escaped(id.slice(0, previewLength)).slice(0, -1)}…"`

/**
 * Why `id` is refused for a control character ({@link isControlCode}), or
 * undefined: the one message of the rule. `what` names the id ("the id",
 * `column "sku"`). With `wholeLine` (the id is a whole line of one-id-per-line
 * text) a tab or a CR also says what the file likely is.
 */
export const controlReason = (id: string, what: string, wholeLine = false): string | undefined => {
  const at = controlAt(id)
  if (at === -1) return undefined
  const c = id.charCodeAt(at)
  const code = `U+${c.toString(16).toUpperCase().padStart(4, "0")}`
  const name = controlNames[c]
  const reason = `${what} ${preview(id)} contains a control character, ${name === undefined ? code : `${name} (${code})`}`
  const hint = !wholeLine ? undefined : c === 0x09 ? delimitedHint : c === 0x0d ? crOnlyHint : undefined
  return hint === undefined ? reason : `${reason}: ${hint}`
}

/**
 * Why an id read from a line is refused, or undefined. These are almost
 * surely mistakes: products and customers are upserted, so a stray space or
 * a mangled byte would silently create a record. `what` names the id in the
 * message ("the id", `column "sku"`); `wholeLine` as for {@link controlReason}.
 */
export const idReason = (id: string, what: string, wholeLine = false): string | undefined => {
  if (id.length === 0) return `${what} is empty`
  if (hasEdgeSpace(id)) return `${what} ${preview(id)} has leading or trailing whitespace`
  // the decoder turned every byte sequence that is not UTF-8 into U+FFFD
  if (id.includes("\uFFFD")) return "not valid UTF-8"
  return controlReason(id, what, wholeLine)
}

/** The {@link IdLineError} of line `line` for {@link idReason}, or undefined. */
export const idError = (id: string, line: number, what: string, wholeLine = false): IdLineError | undefined => {
  const reason = idReason(id, what, wholeLine)
  return reason === undefined ? undefined : new IdLineError({ line, reason })
}

/**
 * The refusal of line `line`, which grew past `maxLine` bytes without a line
 * break: it is not held any longer, nor read to its end. A CR or a tab
 * among the part read says what the file likely is.
 */
export const lineTooLong = (line: number, maxLine: LineLimit, seen: Seen): IdLineError =>
  new IdLineError({
    line,
    reason: `the line runs past ${maxLine.limit} bytes without a line break: ${maxLine.why}${
      seen.cr ? `; it holds CRs: ${crOnlyHint}` : seen.tab ? `; it holds tabs: ${delimitedHint}` : ""
    }`
  })

/**
 * What the string path of {@link lineIds} holds at most of one line: an id
 * longer than the largest body the packer builds can never be sent (packed
 * from its bytes, the limit is the body's own, much smaller).
 */
const longestLine: LineLimit = {
  limit: largestMaxBytes + 2,
  why: `longer than any id can be (no request body holds more than ${largestMaxBytes} bytes)`
}

/** One id per line: every line that is not blank is an id, checked with {@link idReason}. */
const wholeLineId = (text: string, line: number): string | IdLineError => idError(text, line, "the id", true) ?? text

/**
 * A decoder of the ids in UTF-8 lines: `idOf` makes the id of each line
 * that is not blank (one id per line by default, as strings: the packer
 * reads `BulkMetadata.lines` from its bytes itself). A line that runs past
 * `maxLine` fails the input there.
 */
export const lineIds = (
  idOf: (text: string, line: number) => string | IdLineError = wholeLineId,
  maxLine: LineLimit = longestLine
) =>
(): Decoder<Uint8Array, string, IdLineError> =>
  new LineSplitter<string, IdLineError>((bytes, start, end, line, out) => {
    const text = bytes.toString("utf8", start, end)
    if (isBlank(text)) return undefined
    const id = idOf(text, line)
    if (typeof id !== "string") return id
    out.push(id)
    return undefined
  }, maxLine.limit, (line, seen) => lineTooLong(line, maxLine, seen), true)
