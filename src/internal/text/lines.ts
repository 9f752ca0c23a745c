/**
 * Bytes to lines, by the rules every line-based input follows: LF ends a
 * line and a CR before it is dropped; a UTF-8 BOM at the start is dropped;
 * the start of a line that the end of a read cuts off is carried to the
 * next read; a line that runs past its limit is refused as soon as a read
 * shows it, neither held nor read to its end. Plain code, no Effect: it runs
 * once per line. The id packer keeps its own loop (a function call a line
 * is too much there) on the same rules: {@link Carry}, {@link bomAt},
 * {@link withoutCr}, {@link seenIn}.
 *
 * @internal
 */

export const LF = 0x0a
export const CR = 0x0d
export const TAB = 0x09

/** The bytes of a UTF-8 BOM at the start of `src[start..end)`: 3, or 0. */
export const bomAt = (src: Uint8Array, start: number, end: number): number =>
  end - start >= 3 && src[start] === 0xef && src[start + 1] === 0xbb && src[start + 2] === 0xbf ? 3 : 0

/** The end of the line `src[start..end)` without a CR before its LF. */
export const withoutCr = (src: Uint8Array, start: number, end: number): number =>
  end > start && src[end - 1] === CR ? end - 1 : end

/**
 * The most bytes a line may have before its LF (a BOM and a CR count), and
 * why nothing longer can be used: the refusal says it.
 */
export interface LineLimit {
  readonly limit: number
  readonly why: string
}

/** What a refused line holds: a CR or a tab says what the file likely is. */
export interface Seen {
  readonly cr: boolean
  readonly tab: boolean
}

/**
 * What the `parts` read of a line past `limit` hold, judged on their first
 * `limit + 1` bytes only: the same wherever the reads cut.
 */
export const seenIn = (limit: number, parts: ReadonlyArray<Uint8Array>): Seen => {
  let left = limit + 1
  let cr = false
  let tab = false
  for (const part of parts) {
    const kept = part.subarray(0, Math.max(0, left))
    left -= kept.length
    cr ||= kept.includes(CR)
    tab ||= kept.includes(TAB)
  }
  return { cr, tab }
}

/**
 * The start of a line that the end of a read cut off, copied (a reader
 * reuses its buffers), grown as it needs up to `max` bytes.
 */
export class Carry {
  bytes: Buffer = Buffer.allocUnsafe(1024)
  length = 0

  constructor(private readonly max: number) {}

  /** Appends `src[start..end)`. */
  keep(src: Uint8Array, start: number, end: number): void {
    const length = this.length + end - start
    if (length > this.bytes.length) {
      const larger = Buffer.allocUnsafe(Math.max(length, Math.min(2 * this.bytes.length, this.max)))
      this.bytes.copy(larger, 0, 0, this.length)
      this.bytes = larger
    }
    this.bytes.set(src.subarray(start, end), this.length)
    this.length = length
  }

  /** What is held. */
  get held(): Buffer {
    return this.bytes.subarray(0, this.length)
  }

  clear(): void {
    this.length = 0
  }
}

const asBuffer = (piece: Uint8Array): Buffer =>
  Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)

/**
 * Takes one line, `bytes[start..end)` without its CR, LF and (on line 1) BOM,
 * and appends what it gives to `out`; `line` counts from 1, blank lines
 * included. Returns the error that ends the input there, or undefined.
 * `bytes` is valid only during the call.
 */
export type LineHandler<A, E> = (bytes: Buffer, start: number, end: number, line: number, out: Array<A>) => E | undefined

/**
 * Splits bytes into lines for `onLine`; the first error returned ends the
 * input. A decoder of bytes as `internal/text/decode.ts` takes it.
 */
export class LineSplitter<A, E> {
  /** Lines taken, blank ones included: the next is line `line + 1`. */
  private line = 0
  private readonly carry: Carry

  constructor(
    private readonly onLine: LineHandler<A, E>,
    private readonly limit: number,
    /** The refusal of line `line`, which runs past the limit. */
    private readonly tooLong: (line: number, seen: Seen) => E,
    /**
     * Whether a whole line past the limit is refused too, wherever the reads
     * cut (ids), or only one that would be held across reads (records: a
     * whole one is refused by its size, exactly, once read).
     */
    private readonly anyLine: boolean
  ) {
    this.carry = new Carry(limit + 1)
  }

  /** Takes the lines `piece` completes, and carries the start of the next. */
  push(piece: Uint8Array, out: Array<A>): E | undefined {
    const src = asBuffer(piece)
    let start = 0
    const carry = this.carry
    if (carry.length > 0) {
      const lf = src.indexOf(LF)
      const end = lf === -1 ? src.length : lf
      if (carry.length + end > this.limit && (lf === -1 || this.anyLine)) {
        return this.refuse(carry.held, src.subarray(0, end))
      }
      carry.keep(src, 0, end)
      if (lf === -1) return undefined
      const failure = this.take(carry.bytes, 0, carry.length, out)
      carry.clear()
      if (failure !== undefined) return failure
      start = lf + 1
    }
    for (let lf = src.indexOf(LF, start); lf !== -1; lf = src.indexOf(LF, start)) {
      if (this.anyLine && lf - start > this.limit) return this.refuse(src.subarray(start, lf))
      const failure = this.take(src, start, lf, out)
      if (failure !== undefined) return failure
      start = lf + 1
    }
    if (start < src.length) {
      if (src.length - start > this.limit) return this.refuse(src.subarray(start))
      carry.keep(src, start, src.length)
    }
    return undefined
  }

  /** The input ended: a last line without its line break is a line all the same. */
  end(out: Array<A>): E | undefined {
    if (this.carry.length === 0) return undefined
    const failure = this.take(this.carry.bytes, 0, this.carry.length, out)
    this.carry.clear()
    return failure
  }

  private take(bytes: Buffer, start: number, end: number, out: Array<A>): E | undefined {
    const line = ++this.line
    const to = withoutCr(bytes, start, end)
    return this.onLine(bytes, line === 1 ? start + bomAt(bytes, start, to) : start, to, line, out)
  }

  private refuse(...parts: ReadonlyArray<Uint8Array>): E {
    return this.tooLong(this.line + 1, seenIn(this.limit, parts))
  }
}
