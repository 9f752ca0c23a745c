/**
 * The canonical JSON of a record read straight from its JSON text, without
 * `JSON.parse`: a first fill of a sync state needs it for every record, and
 * parsing a record into objects only to write it out again in key order
 * cost more than the rest of the state's work together.
 *
 * It takes the forms a record has as a rule (strings without an escape,
 * numbers already written as JavaScript writes them, any whitespace between
 * tokens) and gives up on the rest, returning `undefined`: an escape, a
 * number in another form (`1.50`, `1e3`, `-0`, 16 digits or more), a key
 * repeated in one object. The caller then takes `canonicalJson` of the
 * parsed value, which is by definition what this returns whenever it
 * returns (the tests hold the two side by side). Plain code, no Effect.
 *
 * @internal
 */

/** A record's canonical JSON text, and its id (the top-level string field named when asked for). */
export interface CanonicalRecord {
  readonly text: string
  readonly id: string | undefined
}

// Character codes as literals in each scanner's module, as in the packer's: an imported binding is
// a load at every use in the unbundled build, and cost the packer's loop 5 to 15% when measured.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39

/** Significant digits that any double holds exactly, and writes back as they were (also read by canonicalBytes.ts). */
export const exactDigits = 15
/** `0.000001` is written as it is; one zero more and JavaScript writes `1e-7`. */
export const mostFractionZeros = 5

const isDigit = (c: number) => c >= ZERO && c <= NINE

class Reader {
  pos = 0
  /** Objects whose keys had to be put in order so far: a value read while it stays put is its own text, whitespace aside. */
  reordered = 0
  constructor(readonly src: string) {}

  space(): void {
    const src = this.src
    let pos = this.pos
    for (; pos < src.length; pos++) {
      const c = src.charCodeAt(pos)
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break
    }
    this.pos = pos
  }

  value(): string | undefined {
    this.space()
    switch (this.src.charCodeAt(this.pos)) {
      case 0x7b:
        return this.object(undefined)?.text
      case 0x5b:
        return this.array()
      case QUOTE:
        return this.string()
      case 0x74:
        return this.word("true")
      case 0x66:
        return this.word("false")
      case 0x6e:
        return this.word("null")
      default:
        return this.number()
    }
  }

  word(word: string): string | undefined {
    if (!this.src.startsWith(word, this.pos)) return undefined
    this.pos += word.length
    return word
  }

  /** A string token, quotes included, when JSON.stringify writes its value the same: no escape, no control character, no lone surrogate. */
  string(): string | undefined {
    const src = this.src
    const start = this.pos
    for (let pos = start + 1; pos < src.length; pos++) {
      const c = src.charCodeAt(pos)
      if (c === QUOTE) {
        this.pos = pos + 1
        return src.slice(start, pos + 1)
      }
      if (c === BACKSLASH || c < 0x20) return undefined
      if (c >= 0xd800 && c <= 0xdfff) {
        const low = src.charCodeAt(pos + 1)
        if (c >= 0xdc00 || !(low >= 0xdc00 && low <= 0xdfff)) return undefined
        pos++
      }
    }
    return undefined
  }

  /** A number token, when JSON.stringify writes its value the same. */
  number(): string | undefined {
    const src = this.src
    const start = this.pos
    let pos = start
    const negative = src.charCodeAt(pos) === MINUS
    if (negative) pos++
    let c = src.charCodeAt(pos)
    let significant = 0
    const zeroInteger = c === ZERO
    if (zeroInteger) c = src.charCodeAt(++pos)
    else if (isDigit(c)) {
      for (; isDigit(c); c = src.charCodeAt(++pos)) significant++
    } else return undefined
    if (c === DOT) {
      c = src.charCodeAt(++pos)
      let zeros = 0
      let last = -1
      for (; isDigit(c); c = src.charCodeAt(++pos)) {
        if (zeroInteger && significant === 0 && c === ZERO) zeros++
        else significant++
        last = c
      }
      // no digit, a trailing zero, or a small number JavaScript writes with an exponent
      if (last === -1 || last === ZERO || (zeroInteger && zeros > mostFractionZeros)) return undefined
    } else if (zeroInteger && negative) return undefined // -0 is written 0
    if (c === 0x65 || c === 0x45 || significant > exactDigits) return undefined
    this.pos = pos
    return src.slice(start, pos)
  }

  array(): string | undefined {
    this.pos++
    this.space()
    if (this.src.charCodeAt(this.pos) === 0x5d) {
      this.pos++
      return "[]"
    }
    let out = "["
    for (;;) {
      const element = this.value()
      if (element === undefined) return undefined
      out += element
      this.space()
      const c = this.src.charCodeAt(this.pos++)
      if (c === 0x5d) return out + "]"
      if (c !== COMMA) return undefined
      out += ","
    }
  }

  /** An object in key order; `idField`: the key whose string value is the record's id. */
  object(idField: string | undefined): CanonicalRecord | undefined {
    const src = this.src
    const start = this.pos++
    this.space()
    if (src.charCodeAt(this.pos) === 0x7d) {
      this.pos++
      return { text: "{}", id: undefined }
    }
    const keys: Array<string> = []
    const members: Array<string> = []
    let sorted = true
    let id: string | undefined
    // the text as it stands is canonical: keys in order, every value as it stands, no whitespace
    let asIs = this.pos === start + 1
    for (;;) {
      const keyAt = this.pos
      this.space()
      if (src.charCodeAt(this.pos) !== QUOTE) return undefined
      const token = this.string()
      if (token === undefined) return undefined
      if (src.charCodeAt(this.pos++) !== COLON) {
        // whitespace before the colon, or no colon
        this.pos--
        this.space()
        if (src.charCodeAt(this.pos++) !== COLON) return undefined
        asIs = false
      }
      const valueAt = this.pos
      const reordered = this.reordered
      const value = this.value()
      if (value === undefined) return undefined
      // whitespace makes a value shorter than its span; a reordered object keeps its length
      if (keyAt + token.length + 1 !== valueAt || value.length !== this.pos - valueAt || this.reordered !== reordered) {
        asIs = false
      }
      const key = token.slice(1, -1)
      const last = keys.length === 0 ? undefined : keys[keys.length - 1]!
      if (last !== undefined && key <= last) {
        // JSON.parse keeps the last of a repeated key: left to it
        if (key === last) return undefined
        sorted = false
      }
      if (key === idField && value.charCodeAt(0) === QUOTE) id = value.slice(1, -1)
      keys.push(key)
      members.push(`${token}:${value}`)
      const c = src.charCodeAt(this.pos++)
      if (c === 0x7d) break
      if (c !== COMMA) {
        this.pos--
        this.space()
        asIs = false
        const after = src.charCodeAt(this.pos++)
        if (after === 0x7d) break
        if (after !== COMMA) return undefined
      }
    }
    if (sorted && asIs) return { text: src.slice(start, this.pos), id }
    if (!sorted) this.reordered++
    // Insertion sort of the members by key: objects of a record have a few keys.
    const order: Array<number> = [0]
    for (let i = 1; i < keys.length; i++) {
      const key = keys[i]!
      let at = order.length
      while (at > 0 && keys[order[at - 1]!]! > key) at--
      if (at > 0 && keys[order[at - 1]!] === key) return undefined
      order.splice(at, 0, i)
    }
    let text = "{" + members[order[0]!]!
    for (let i = 1; i < order.length; i++) text += "," + members[order[i]!]!
    return { text: text + "}", id }
  }
}

/**
 * The canonical JSON text of a record's JSON text (an object), with the
 * string value of its top-level `idField`; `undefined` for a form left to
 * `canonicalJson(JSON.parse(text))`.
 */
export const canonicalRecordText = (text: string, idField: string): CanonicalRecord | undefined => {
  const reader = new Reader(text)
  reader.space()
  if (text.charCodeAt(reader.pos) !== 0x7b) return undefined
  const record = reader.object(idField)
  if (record === undefined) return undefined
  reader.space()
  return reader.pos === text.length ? record : undefined
}
