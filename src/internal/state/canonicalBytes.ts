/**
 * The canonical JSON of a record read from its UTF-8 bytes into a scratch
 * buffer: what the hashing worker of a first fill runs on every record.
 * `canonicalText.ts` reads the same forms from a string, but builds a string
 * for every key, value and member on the way, and SHA-256 then encodes the
 * result again; here nothing is allocated per record, and both hashes are
 * taken over bytes.
 *
 * It takes the forms `canonicalText.ts` takes (strings without an escape,
 * numbers already written as JavaScript writes them, any whitespace) and
 * gives up on the same ones, returning `false`; it also gives up on a key
 * with a character beyond U+FFFF, whose UTF-8 bytes sort apart from its
 * UTF-16 code units (the order `canonicalJson` sorts keys by), and on a
 * text with a lone surrogate (its UTF-8 would hold U+FFFD instead, where
 * JSON writes an escape). Plain code, no Effect.
 *
 * @internal
 */

import { exactDigits, mostFractionZeros } from "./canonicalText.js"

// Character codes as literals in each scanner's module (see canonicalText.ts); the number rules are that module's.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** The first byte of a four-byte UTF-8 sequence: a character beyond U+FFFF. */
const fourByteLead = 0xf0

/** The ints a member or an element takes on the stack: key start, key end, value start, value end, value in `out`. */
const slot = 5

const isDigit = (c: number) => c >= ZERO && c <= NINE
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// `String.prototype.isWellFormed` (Node 20) is past the ES2022 library the types are checked against
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed()

/**
 * A reader used over and over: {@link read} takes a record's text, and
 * leaves its UTF-8 in `src[0, length)`, its canonical form in
 * `out[start, end)` (or, when `asIs`, its UTF-8 is canonical as it stands)
 * and its id.
 */
export class CanonicalBytes {
  /** The UTF-8 of the last text read, in `src[0, length)`. */
  src = new Uint8Array(1 << 12)
  length = 0
  /** The canonical form of the last record read: `out[start, end)`, or the source itself when `asIs`. */
  out = new Uint8Array(1 << 16)
  start = 0
  end = 0
  asIs = false
  /** The string value of the record's top-level id field, if it has one. */
  id: string | undefined = undefined

  private idStart = -1
  private idEnd = -1
  private pos = 0
  private top = 0
  private stack = new Int32Array(1 << 10)
  private sp = 0
  // the last value read: its canonical bytes at [vStart, vEnd) of `out` when vOut, else of the source
  private vStart = 0
  private vEnd = 0
  private vOut = false

  private readonly idField: Uint8Array

  constructor(idField: string) {
    this.idField = encoder.encode(idField)
  }

  /** Reads a record's text; `false` for a form left to the string reader (`canonicalText.ts`). */
  read(text: string): boolean {
    if (!isWellFormed(text)) return false
    // at most 3 bytes a UTF-16 code unit, and a byte after them that no token takes
    if (this.src.length < text.length * 3 + 1) this.src = new Uint8Array(text.length * 3 + 1)
    const src = this.src
    const length = encoder.encodeInto(text, src).written
    src[length] = 0
    this.length = length
    this.pos = 0
    this.top = 0
    this.sp = 0
    this.idStart = -1
    this.idEnd = -1
    this.space()
    if (src[this.pos] !== OPEN_BRACE) return false
    const recordAt = this.pos
    if (!this.object(true)) return false
    const recordEnd = this.pos
    this.space()
    if (this.pos !== length) return false
    this.asIs = !this.vOut && recordAt === 0 && recordEnd === length
    this.start = this.vStart
    this.end = this.vEnd
    this.id = this.idStart === -1
      ? undefined
      // a text of single-byte characters has its bytes where its characters are
      : length === text.length
      ? text.slice(this.idStart, this.idEnd)
      : decoder.decode(src.subarray(this.idStart, this.idEnd))
    return true
  }

  private space(): void {
    const src = this.src
    let pos = this.pos
    while (pos < this.length && isSpace(src[pos]!)) pos++
    this.pos = pos
  }

  private source(start: number, end: number): true {
    this.vStart = start
    this.vEnd = end
    this.vOut = false
    return true
  }

  private value(): boolean {
    this.space()
    switch (this.src[this.pos]) {
      case OPEN_BRACE:
        return this.object(false)
      case OPEN_BRACKET:
        return this.array()
      case QUOTE:
        return this.string(false)
      case 0x74:
        return this.word(0x74, 0x72, 0x75, 0x65, -1)
      case 0x66:
        return this.word(0x66, 0x61, 0x6c, 0x73, 0x65)
      case 0x6e:
        return this.word(0x6e, 0x75, 0x6c, 0x6c, -1)
      default:
        return this.number()
    }
  }

  /** `true`, `false` or `null`, given by its bytes (-1: a four-letter word). */
  private word(a: number, b: number, c: number, d: number, e: number): boolean {
    const src = this.src
    const at = this.pos
    if (src[at + 1] !== b || src[at + 2] !== c || src[at + 3] !== d) return false
    if (e !== -1 && src[at + 4] !== e) return false
    const end = at + (e === -1 ? 4 : 5)
    if (end > this.length || src[at] !== a) return false
    this.pos = end
    return this.source(at, end)
  }

  /** A string token, quotes included, with no escape and no control character; a key also no character beyond U+FFFF. */
  private string(key: boolean): boolean {
    const src = this.src
    const start = this.pos
    for (let pos = start + 1; pos < this.length; pos++) {
      const c = src[pos]!
      if (c === QUOTE) {
        this.pos = pos + 1
        return this.source(start, pos + 1)
      }
      if (c === BACKSLASH || c < 0x20 || (key && c >= fourByteLead)) return false
    }
    return false
  }

  /** A number token, when JSON.stringify writes its value the same (the rules of canonicalText.ts). */
  private number(): boolean {
    const src = this.src
    const start = this.pos
    let pos = start
    const negative = src[pos] === MINUS
    if (negative) pos++
    let c = src[pos]!
    let significant = 0
    const zeroInteger = c === ZERO
    if (zeroInteger) c = src[++pos]!
    else if (isDigit(c)) {
      for (; isDigit(c); c = src[++pos]!) significant++
    } else return false
    if (c === DOT) {
      c = src[++pos]!
      let zeros = 0
      let last = -1
      for (; isDigit(c); c = src[++pos]!) {
        if (zeroInteger && significant === 0 && c === ZERO) zeros++
        else significant++
        last = c
      }
      if (last === -1 || last === ZERO || (zeroInteger && zeros > mostFractionZeros)) return false
    } else if (zeroInteger && negative) return false
    if (c === 0x65 || c === 0x45 || significant > exactDigits) return false
    this.pos = pos
    return this.source(start, pos)
  }

  /** Room for `size` more ints on the stack. */
  private push(size: number): void {
    if (this.sp + size > this.stack.length) {
      const grown = new Int32Array(this.stack.length * 2)
      grown.set(this.stack)
      this.stack = grown
    }
  }

  /** Room for `size` more bytes in `out`. */
  private reserve(size: number): void {
    if (this.top + size > this.out.length) {
      let capacity = this.out.length * 2
      while (capacity < this.top + size) capacity *= 2
      const grown = new Uint8Array(capacity)
      grown.set(this.out.subarray(0, this.top))
      this.out = grown
    }
  }

  /** Writes the values of the stack's slots from `base`, each key (if `keys`) and value, between `open` and `close`. */
  private write(base: number, keys: boolean, open: number, close: number): true {
    const stack = this.stack
    let size = 2
    for (let at = base; at < this.sp; at += slot) {
      size += (keys ? stack[at + 1]! - stack[at]! + 1 : 0) + stack[at + 3]! - stack[at + 2]! + 1
    }
    this.reserve(size)
    const out = this.out
    const src = this.src
    const start = this.top
    let top = start
    out[top++] = open
    for (let at = base; at < this.sp; at += slot) {
      if (at > base) out[top++] = COMMA
      if (keys) {
        for (let i = stack[at]!; i < stack[at + 1]!; i++) out[top++] = src[i]!
        out[top++] = COLON
      }
      const valueStart = stack[at + 2]!
      const valueEnd = stack[at + 3]!
      if (stack[at + 4] === 1) {
        // a value written before, below in `out`: one native move (an object's or an array's many bytes)
        out.copyWithin(top, valueStart, valueEnd)
        top += valueEnd - valueStart
      } else {
        for (let i = valueStart; i < valueEnd; i++) out[top++] = src[i]!
      }
    }
    out[top++] = close
    this.top = top
    this.sp = base
    this.vStart = start
    this.vEnd = top
    this.vOut = true
    return true
  }

  /** Compares the keys (tokens, quotes included) of two slots by their bytes. */
  private compareKeys(a: number, b: number): number {
    const src = this.src
    const stack = this.stack
    const aEnd = stack[a + 1]! - 1
    const bEnd = stack[b + 1]! - 1
    let i = stack[a]! + 1
    let j = stack[b]! + 1
    for (; i < aEnd && j < bEnd; i++, j++) {
      const d = src[i]! - src[j]!
      if (d !== 0) return d
    }
    return (aEnd - i) - (bEnd - j)
  }

  private array(): boolean {
    const src = this.src
    const start = this.pos++
    this.space()
    if (src[this.pos] === CLOSE_BRACKET) {
      this.pos++
      if (this.pos === start + 2) return this.source(start, this.pos)
      return this.write(this.sp, false, OPEN_BRACKET, CLOSE_BRACKET)
    }
    const base = this.sp
    let asIs = true
    for (;;) {
      const at = this.pos
      if (!this.value()) return false
      if (this.vStart !== at || this.vOut) asIs = false
      this.push(slot)
      const stack = this.stack
      stack[this.sp + 2] = this.vStart
      stack[this.sp + 3] = this.vEnd
      stack[this.sp + 4] = this.vOut ? 1 : 0
      this.sp += slot
      let c = src[this.pos++]
      if (c !== CLOSE_BRACKET && c !== COMMA) {
        this.pos--
        this.space()
        asIs = false
        c = src[this.pos++]
      }
      if (c === CLOSE_BRACKET) break
      if (c !== COMMA) return false
    }
    if (asIs && start + 1 === this.stack[base + 2]) {
      this.sp = base
      return this.source(start, this.pos)
    }
    return this.write(base, false, OPEN_BRACKET, CLOSE_BRACKET)
  }

  private object(record: boolean): boolean {
    const src = this.src
    const start = this.pos++
    this.space()
    if (src[this.pos] === CLOSE_BRACE) {
      this.pos++
      if (this.pos === start + 2) return this.source(start, this.pos)
      return this.write(this.sp, true, OPEN_BRACE, CLOSE_BRACE)
    }
    const base = this.sp
    let sorted = true
    let asIs = this.pos === start + 1
    for (;;) {
      const keyAt = this.pos
      this.space()
      if (src[this.pos] !== QUOTE || !this.string(true)) return false
      const keyStart = this.vStart
      const keyEnd = this.vEnd
      if (src[this.pos++] !== COLON) {
        this.pos--
        this.space()
        if (src[this.pos++] !== COLON) return false
        asIs = false
      }
      const valueAt = this.pos
      if (!this.value()) return false
      if (keyAt !== keyStart || this.vStart !== valueAt || this.vOut) asIs = false
      this.push(slot)
      const stack = this.stack
      const at = this.sp
      stack[at] = keyStart
      stack[at + 1] = keyEnd
      stack[at + 2] = this.vStart
      stack[at + 3] = this.vEnd
      stack[at + 4] = this.vOut ? 1 : 0
      if (at > base) {
        const order = this.compareKeys(at - slot, at)
        // JSON.parse keeps the last of a repeated key: left to it
        if (order === 0) return false
        if (order > 0) sorted = false
      }
      if (record && !this.vOut && src[this.vStart] === QUOTE && this.isIdField(keyStart, keyEnd)) {
        this.idStart = this.vStart + 1
        this.idEnd = this.vEnd - 1
      }
      this.sp += slot
      let c = src[this.pos++]
      if (c !== CLOSE_BRACE && c !== COMMA) {
        this.pos--
        this.space()
        asIs = false
        c = src[this.pos++]
      }
      if (c === CLOSE_BRACE) break
      if (c !== COMMA) return false
    }
    if (sorted && asIs) {
      this.sp = base
      return this.source(start, this.pos)
    }
    if (!sorted && !this.sortMembers(base)) return false
    return this.write(base, true, OPEN_BRACE, CLOSE_BRACE)
  }

  /** Insertion sort of the slots from `base` by key (an object of a record has a few keys); `false` on a repeated key. */
  private sortMembers(base: number): boolean {
    const stack = this.stack
    for (let i = base + slot; i < this.sp; i += slot) {
      // the slot at i goes before every slot whose key is greater
      let at = i
      while (at > base) {
        const order = this.compareKeys(at - slot, i)
        if (order === 0) return false
        if (order < 0) break
        at -= slot
      }
      if (at === i) continue
      // plain loops: a typed array's own copying is a call into the runtime, dearer for five ints
      const k0 = stack[i]!, k1 = stack[i + 1]!, v0 = stack[i + 2]!, v1 = stack[i + 3]!, inOut = stack[i + 4]!
      for (let j = i - 1; j >= at; j--) stack[j + slot] = stack[j]!
      stack[at] = k0
      stack[at + 1] = k1
      stack[at + 2] = v0
      stack[at + 3] = v1
      stack[at + 4] = inOut
    }
    return true
  }

  private isIdField(keyStart: number, keyEnd: number): boolean {
    const field = this.idField
    if (keyEnd - keyStart - 2 !== field.length) return false
    for (let i = 0; i < field.length; i++) if (this.src[keyStart + 1 + i] !== field[i]) return false
    return true
  }
}
