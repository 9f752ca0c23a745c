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
 * Why an id read from a line is refused, or undefined. These are almost
 * surely mistakes: products and customers are upserted, so a stray space or
 * a mangled byte would silently create a record. `what` names the id in the
 * message ("the id", `column "sku"`).
 */
export const idReason = (id: string, what: string): string | undefined => {
  if (id.length === 0) return `${what} is empty`
  if (hasEdgeSpace(id)) return `${what} ${JSON.stringify(id)} has leading or trailing whitespace`
  // the decoder turned every byte sequence that is not UTF-8 into U+FFFD
  if (id.includes("\uFFFD")) return "not valid UTF-8"
  return undefined
}

/** `id`, or throws the {@link IdLineError} of {@link idReason}. */
export const checkId = (id: string, line: number, what: string): string => {
  const reason = idReason(id, what)
  if (reason !== undefined) throw new IdLineError({ line, reason })
  return id
}

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

/** Splits text into lines (LF or CRLF, a BOM at the start dropped) and hands each to `handle`. */
export const lineParser = (handle: LineHandler, finish: (lastLine: number) => void = () => {}): IdParser => {
  let rest = ""
  let lineNo = 0
  let started = false
  const take = (line: string, out: Array<string>) => {
    lineNo++
    handle(line.endsWith("\r") ? line.slice(0, -1) : line, lineNo, out)
  }
  return {
    push: (text, out) => {
      if (!started && text.length > 0) {
        started = true
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      // a long line read in many pieces is kept whole only once, not joined again at every piece
      if (!text.includes("\n")) {
        rest += text
        return
      }
      const lines = (rest + text).split("\n")
      rest = lines.pop()!
      for (const line of lines) take(line, out)
    },
    end: (out) => {
      if (rest.length > 0) take(rest, out)
      rest = ""
      finish(lineNo)
    }
  }
}

/** One id per line: blank lines skipped, every other line checked with {@link idReason}. */
export const linesParser = (): IdParser =>
  lineParser((line, lineNo, out) => {
    if (!isBlank(line)) out.push(checkId(line, lineNo, "the id"))
  })

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
