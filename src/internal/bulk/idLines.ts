/**
 * Ids in text, one record a line: the rules an id must follow, and the
 * incremental line parser the CLI's formats share (the packer reads plain
 * one-id-per-line bytes itself: `linePacker.ts`). Plain code: it runs once
 * per line.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { largestMaxPayloadBytes as largestMaxBytes } from "../limits.js"

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

/** `id`, or throws the {@link IdLineError} of {@link idReason}. */
export const checkId = (id: string, line: number, what: string, wholeLine = false): string => {
  const reason = idReason(id, what, wholeLine)
  if (reason !== undefined) throw new IdLineError({ line, reason })
  return id
}

/**
 * The refusal of a line that grew past `limit` (bytes or characters, as
 * `unit` says) without a line break: it is not held any longer, nor read to
 * its end. `why` says why nothing that long can be used; a CR or a tab
 * among the part read says what the file likely is.
 */
export const lineTooLong = (
  line: number,
  limit: number,
  unit: "bytes" | "characters",
  why: string,
  seen: { readonly cr: boolean; readonly tab: boolean }
): IdLineError =>
  new IdLineError({
    line,
    reason: `the line runs past ${limit} ${unit} without a line break: ${why}${
      seen.cr ? `; it holds CRs: ${crOnlyHint}` : seen.tab ? `; it holds tabs: ${delimitedHint}` : ""
    }`
  })

/**
 * An incremental parser: text goes in piece by piece as it is read, ids come
 * out, and nothing but the current line is held.
 */
export interface IdParser {
  /**
   * Takes the next piece of text and appends the ids it completes to `out`.
   * Throws {@link IdLineError} at a bad line, with the ids before it in `out`.
   */
  readonly push: (text: string, out: Array<string>) => void
  /** The text ended: appends the id of an unterminated last line. Throws like `push`. */
  readonly end: (out: Array<string>) => void
}

/** Handles one line (without its line break); `lineNo` counts from 1. */
export type LineHandler = (line: string, lineNo: number, out: Array<string>) => void

/**
 * How long a line may grow without a line break before it is refused,
 * unread to its end: `limit` characters (a character takes a byte or more),
 * and why nothing longer can be used.
 */
export interface LineLimit {
  readonly limit: number
  readonly why: string
}

/**
 * Splits text into lines (LF or CRLF, a BOM at the start dropped) and hands
 * each to `handle`. A line that runs past `maxLine` before its line break
 * ends the parse there: it is not held whole.
 */
export const lineParser = (
  handle: LineHandler,
  finish: (lastLine: number) => void = () => {},
  maxLine?: LineLimit
): IdParser => {
  let rest = ""
  let lineNo = 0
  let started = false
  const tooLong = (line: string) => {
    if (maxLine !== undefined && line.length > maxLine.limit) {
      // judged on the first characters past the limit only: the same wherever the pieces were cut
      const seen = line.slice(0, maxLine.limit + 1)
      const cr = seen.includes("\r")
      throw lineTooLong(lineNo + 1, maxLine.limit, "characters", maxLine.why, { cr, tab: !cr && seen.includes("\t") })
    }
  }
  const take = (line: string, out: Array<string>) => {
    // a whole line past the limit too: the same refusal wherever the pieces were cut
    tooLong(line)
    lineNo++
    handle(line.endsWith("\r") ? line.slice(0, -1) : line, lineNo, out)
  }
  const bounded = () => tooLong(rest)
  return {
    push: (text, out) => {
      if (!started && text.length > 0) {
        started = true
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      // a long line read in many pieces is kept whole only once, not joined again at every piece
      if (!text.includes("\n")) {
        rest += text
        bounded()
        return
      }
      const lines = (rest + text).split("\n")
      rest = lines.pop()!
      for (const line of lines) take(line, out)
      bounded()
    },
    end: (out) => {
      if (rest.length > 0) take(rest, out)
      rest = ""
      finish(lineNo)
    }
  }
}

/**
 * What the string path of {@link lines} holds at most of one line: an id
 * longer than the largest body the packer builds can never be sent (packed
 * from its bytes, the limit is the body's own, much smaller).
 */
const longestLine: LineLimit = {
  limit: largestMaxBytes + 2,
  why: `longer than any id can be (no request body holds more than ${largestMaxBytes} bytes)`
}

/** One id per line: blank lines skipped, every other line checked with {@link idReason}. */
export const linesParser = (): IdParser =>
  lineParser((line, lineNo, out) => {
    if (!isBlank(line)) out.push(checkId(line, lineNo, "the id", true))
  }, undefined, longestLine)

/**
 * The ids a parser finds in UTF-8 bytes. The ids before a bad line are
 * emitted before its error, so that whatever consumes them sees every good
 * id, wherever the reads cut the text.
 */
export const parseIds = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  makeParser: () => IdParser
): Stream.Stream<string, E | IdLineError, R> =>
  Stream.suspend(() => {
    const parser = makeParser()
    // the parser drops the BOM itself, once; a sequence cut at the end is flushed, and refused
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
    type Parse = Channel.Channel<Chunk.Chunk<string>, Chunk.Chunk<Uint8Array>, E | IdLineError, E, unknown, unknown>
    const step = (parse: (out: Array<string>) => void, next: Parse): Parse => {
      const out: Array<string> = []
      let failure: IdLineError | undefined
      try {
        parse(out)
      } catch (error) {
        if (!(error instanceof IdLineError)) throw error
        failure = error
      }
      const written: Parse = out.length === 0 ? Channel.void : Channel.write(Chunk.unsafeFromArray(out))
      return Channel.zipRight(written, failure === undefined ? next : Channel.fail(failure))
    }
    const read: Parse = Channel.readWithCause({
      onInput: (pieces: Chunk.Chunk<Uint8Array>) =>
        step((out) => {
          for (const piece of pieces) parser.push(decoder.decode(piece, { stream: true }), out)
        }, read),
      onFailure: Channel.failCause,
      onDone: () =>
        step((out) => {
          parser.push(decoder.decode(), out)
          parser.end(out)
        }, Channel.void)
    })
    return Stream.pipeThroughChannelOrFail(bytes, read)
  })
