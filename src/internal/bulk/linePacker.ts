/**
 * Packing newline-delimited ids straight from their bytes, and the choice
 * between that and packing strings.
 *
 * A `BulkMetadata.lines` input is its bytes. The packer copies
 * each line that is plain printable ASCII (no `"`, no `\`, no control
 * character: JSON takes it as it is) from the read buffer into the body in
 * one pass that also measures and checks it; no string is made. Any other
 * line (non-ASCII, escapes, a BOM, blanks or edge spaces to judge, a line cut
 * by the end of a read, an id that may not fit) takes the exact path of the
 * string packer: decoded, checked by the rules of `idLines.ts`, measured and
 * escaped. Both give the same bodies and the same errors as the ids
 * decoded first (`BulkMetadata.lines` read as strings) and packed, but for
 * a line too large for any body: packed from its bytes it is a line that is
 * no id (`IdLineError`, at once, like any other), and one that runs past
 * what a body leaves for an id is refused as soon as it gets there, neither
 * held nor read to its end. As strings, the packer refuses the id itself
 * once it is read whole (`InvalidRequestError` at its offset).
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import type { BulkChunk, ChunkOptions, Input, Lines } from "./model.js"
import { InvalidRequestError } from "../../VoucherifyError.js"
import { defaultMaxPayloadBytes } from "../limits.js"
import { bomAt, Carry, CR, LF, type LineLimit, seenIn, withoutCr } from "../text/lines.js"
import { IdLineError, idReason, isBlank, lineTooLong } from "./idLines.js"
import {
  COMMA,
  countRead,
  emitBody,
  fromInput,
  inOpenBody,
  metadataPacking,
  type PackChannel,
  packChannel,
  Packer,
  type PackHooks,
  type Packing,
  writeJson
} from "./packer.js"
import { jsonStringBytes } from "./payload.js"

const SPACE = 0x20
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** What {@link LinePacker.takeLine} did with one whole line. */
type Taken = "taken" | "full" | IdLineError | InvalidRequestError

/** A packer fed with the bytes of one-id-per-line text. */
export class LinePacker extends Packer {
  /** Lines consumed, blank ones included: the next one is line `lines + 1`. */
  private lines = 0
  /** Set when the last feed stopped at an id that the open body has no room for. */
  full = false
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  /**
   * The most bytes a line (without its LF) can have and still hold an id
   * that fits a body: the id's JSON takes its UTF-8 bytes and two quotes,
   * at most {@link room}; a final CR and a BOM add up to four bytes more. A
   * line past this is refused as soon as it gets there, neither held nor
   * read to its end: the carry never grows past it.
   */
  private readonly maxLine = this.room + 2
  private readonly limit: LineLimit = {
    limit: this.maxLine,
    why: `longer than any id can be (the limit of ${this.maxBytes} bytes leaves ${this.room} for an id next to the metadata)`
  }
  /** The start of a line that the end of a read cut off, until its end comes: never past {@link maxLine} and its LF. */
  private readonly carry = new Carry(this.maxLine + 1)
  /** Whether `carry` holds a whole line (its LF included) that waits for a body with room. */
  private carryComplete = false

  /** Whether a line without its line break waits: the input's last line, if the input ends now. */
  get hasPartialLine(): boolean {
    return this.carry.length > 0 && !this.carryComplete
  }

  /**
   * Packs the lines of `src` from `from` into the open body. Returns where
   * to go on: when {@link full}, cut the body, open another and feed again
   * from there; else `src` is used up (a cut-off last line is kept for the
   * next read). Or the error of a line that is no id, or of an id too large
   * for any body.
   */
  feedBytes(src: Uint8Array, from: number): number | IdLineError | InvalidRequestError {
    this.full = false
    let i = from
    const carry = this.carry
    if (carry.length > 0) {
      if (!this.carryComplete) {
        const lf = src.indexOf(LF, i)
        const end = lf === -1 ? src.length : lf
        if (carry.length + end - i > this.maxLine) return this.lineTooLong(carry.held, src.subarray(i, end))
        if (lf === -1) {
          carry.keep(src, i, src.length)
          return src.length
        }
        carry.keep(src, i, lf + 1)
        this.carryComplete = true
        i = lf + 1
      }
      // the whole line is in `carry` now, its LF last: the same loop takes it
      const taken = this.scan(carry.held, 0)
      if (typeof taken !== "number") return taken
      if (this.full) return i
      carry.clear()
      this.carryComplete = false
    }
    return this.scan(src, i)
  }

  /** The hot loop: plain lines copied into place, the rest handed to {@link takeLine}. */
  private scan(src: Uint8Array, from: number): number | IdLineError | InvalidRequestError {
    const buffer = this.buffer!
    const idsEnd = this.idsEnd
    const n = src.length
    const plainOnly = this.seen === undefined
    // locals, not fields, in the loop: it runs once per line
    let length = this.length
    let size = this.size
    let position = this.position
    let lines = this.lines
    let stop: number | IdLineError | InvalidRequestError = n
    let i = from
    while (i < n) {
      const start = i
      const comma = size > 0 ? 1 : 0
      const at = length + comma + 1
      // An id of up to `idsEnd - at - 1` bytes fits: its closing quote takes
      // the last byte. Copying one byte more tells such an id (its line break
      // seen before `bound`) from one that does not fit (decided by takeLine).
      const bound = Math.min(n, i + idsEnd - at)
      let w = at
      let c = -1
      for (; i < bound; i++) {
        c = src[i]!
        if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) break
        buffer[w++] = c
      }
      let lineEnd: number
      let next: number
      if (i < bound && (c === LF || (c === CR && i + 1 < n && src[i + 1] === LF))) {
        next = c === LF ? i + 1 : i + 2
        if (w === at) {
          // an empty line
          lines++
          i = next
          continue
        }
        if (plainOnly && buffer[at] !== SPACE && buffer[w - 1] !== SPACE) {
          // a plain id, its bytes already in place: frame it
          buffer[at - 1] = QUOTE
          buffer[w] = QUOTE
          if (comma === 1) buffer[length] = COMMA
          length = w + 1
          size++
          position++
          lines++
          i = next
          continue
        }
        // spaces at an edge (a blank line, or an id to refuse), or dedupe: judged on the string
        lineEnd = i
      } else {
        // a byte to decode or escape, no room left, or the end of the read
        lineEnd = src.indexOf(LF, i)
        // past the longest line that can fit, whether its LF is in this read or not: the same refusal wherever reads cut
        if ((lineEnd === -1 ? n : lineEnd) - start > this.maxLine) {
          this.lines = lines
          stop = this.lineTooLong(src.subarray(start, lineEnd === -1 ? n : lineEnd))
          break
        }
        if (lineEnd === -1) {
          this.carry.keep(src, start, n)
          break
        }
        next = lineEnd + 1
      }
      this.length = length
      this.size = size
      this.position = position
      this.lines = lines
      const taken = this.takeLine(src, start, lineEnd)
      length = this.length
      size = this.size
      position = this.position
      lines = this.lines
      if (taken !== "taken") {
        if (taken === "full") this.full = true
        stop = taken === "full" ? start : taken
        break
      }
      i = next
    }
    this.length = length
    this.size = size
    this.position = position
    this.lines = lines
    return stop
  }

  /**
   * One whole line, `src[start..end)` without its LF, the way the string
   * path takes it: CR and a leading BOM dropped, decoded, blank lines
   * skipped, checked, measured exactly and escaped.
   */
  private takeLine(src: Uint8Array, start: number, end: number): Taken {
    end = withoutCr(src, start, end)
    if (this.lines === 0) start += bomAt(src, start, end)
    const id = this.decoder.decode(src.subarray(start, end))
    if (isBlank(id)) {
      this.lines++
      return "taken"
    }
    const reason = idReason(id, "the id", true)
    if (reason !== undefined) return new IdLineError({ line: this.lines + 1, reason })
    if (this.seen?.has(id)) {
      this.lines++
      this.position++
      return "taken"
    }
    const buffer = this.buffer!
    const comma = this.size > 0 ? 1 : 0
    const written = writeJson(buffer, this.length + comma, id, this.idsEnd)
    if (written < 0) {
      // too large for any body: a line that is no id, like the others (a body before it is not cut for it)
      const bytes = jsonStringBytes(id)
      return bytes > this.room ? new IdLineError({ line: this.lines + 1, reason: `the id ${this.tooLarge(bytes)}` }) : "full"
    }
    if (comma === 1) buffer[this.length] = COMMA
    this.length = written
    this.size++
    this.position++
    this.lines++
    this.seen?.add(id)
    return "taken"
  }

  /** The refusal of the next line, which runs past {@link maxLine} without a line break; `parts` are what was read of it. */
  private lineTooLong(...parts: ReadonlyArray<Uint8Array>): IdLineError {
    return lineTooLong(this.lines + 1, this.limit, seenIn(this.maxLine, parts))
  }
}

/** A last line without its line break ends as if it had one. */
const NEWLINE = Buffer.from([LF])

/** The packing channel for one-id-per-line bytes; it emits one body per pull, like `packChannel`. */
export const packLinesChannel = <InErr, E = never, R = never>(
  packing: Packing,
  hooks: PackHooks<E, R> = {}
): PackChannel<Uint8Array, InErr | IdLineError | InvalidRequestError | E, InErr, R> =>
  Channel.suspend(() => {
    type Pack = PackChannel<Uint8Array, InErr | IdLineError | InvalidRequestError | E, InErr, R>
    const packer = new LinePacker(packing, hooks.recycled)
    // ids reported to onRead: before a body is emitted, its ids have been
    let counted = 0
    const count = (next: Pack): Pack =>
      Channel.suspend(() => {
        const read = packer.idsRead - counted
        counted = packer.idsRead
        return countRead(hooks, read, next)
      })

    const drain = (pieces: ReadonlyArray<Uint8Array>, piece: number, from: number, then: Pack): Pack =>
      Channel.suspend(() => {
        if (piece === pieces.length) return then
        return inOpenBody(packer, hooks, () => {
          const stop = packer.feedBytes(pieces[piece]!, from)
          if (typeof stop !== "number") return count(Channel.fail(stop))
          return packer.full
            ? count(emitBody(packer, hooks, drain(pieces, piece, stop, then)))
            : drain(pieces, piece + 1, 0, then)
        })
      })

    const end: Pack = Channel.suspend(() =>
      packer.hasPartialLine
        ? drain([NEWLINE], 0, 0, end)
        : count(packer.pending ? emitBody(packer, hooks, Channel.void) : Channel.void)
    )

    const read: Pack = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<Uint8Array>) => drain(Chunk.toReadonlyArray(input), 0, 0, count(read)),
      onFailure: (cause: Cause.Cause<InErr>) => Channel.failCause(cause),
      onDone: () => end
    })
    return read
  })

/** Whether the input is one-id-per-line bytes, which take the byte path. */
export const isLines = <E, R>(input: Input<E, R>): input is Lines<E, R> =>
  typeof input === "object" && input !== null && "_tag" in input && input._tag === "Lines"

/**
 * The bodies of `input`: `Lines` packed from their bytes, any other input
 * item by item. `hooks` as for `packChannel`.
 */
export const packInput = <E, R, E2 = never, R2 = never>(
  input: Input<E, R>,
  packing: Packing,
  hooks: PackHooks<E2, R2> = {}
): Stream.Stream<BulkChunk, E | E2 | InvalidRequestError, R | R2> =>
  isLines(input)
    // the IdLineError it may fail with is in the input's own E (see `BulkMetadata.lines`)
    ? Stream.pipeThroughChannelOrFail(input.bytes, packLinesChannel<E, E2, R2>(packing, hooks)) as Stream.Stream<
      BulkChunk,
      E | E2 | InvalidRequestError,
      R | R2
    >
    : Stream.pipeThroughChannelOrFail(fromInput(input), packChannel<E, E2, R2>(packing, hooks))

/** `BulkMetadata.chunk`. */
export const chunk = <E, R>(
  self: Stream.Stream<string, E, R> | Lines<E, R>,
  options: ChunkOptions
): Stream.Stream<BulkChunk, E | InvalidRequestError, R> =>
  Stream.suspend(() => {
    const packed = metadataPacking(
      options.field ?? "source_ids",
      options.metadata,
      options.maxBytes ?? defaultMaxPayloadBytes,
      options.dedupe === true
    )
    return packed instanceof InvalidRequestError ? Stream.fail(packed) : packInput(self, packed.packing)
  })
