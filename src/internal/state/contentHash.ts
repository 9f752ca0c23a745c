/**
 * The content a sync state compares: a record (or a metadata object) in a
 * canonical JSON form where key order does not count, and its SHA-256.
 * Plain code, no Effect: it runs once per record, and an Effect 4 edition
 * shares it.
 *
 * @internal
 */
import * as crypto from "node:crypto"

/** Whether JSON writes the string between quotes as it is: no character it escapes, no surrogate. */
const isPlain = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false
  }
  return true
}

const quoted = (text: string): string => (isPlain(text) ? `"${text}"` : JSON.stringify(text))

/**
 * The canonical JSON text of a JSON value: no whitespace, the keys of every
 * object sorted by UTF-16 code units at every depth, arrays in their order.
 * Two values that differ only in key order have the same text. It runs once
 * per record of a run with a state: a plain string is quoted without a call
 * to `JSON.stringify`, and keys already in order are not sorted again.
 */
export const canonicalJson = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return quoted(value)
    case "boolean":
      return value ? "true" : "false"
    case "object":
      break
    default:
      return JSON.stringify(value)
  }
  if (value === null) return "null"
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ","
      out += canonicalJson(value[i])
    }
    return out + "]"
  }
  const object = value as Record<string, unknown>
  let keys = Object.keys(object)
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys = keys.sort()
      break
    }
  }
  let out = "{"
  let first = true
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const field = object[key]
    // as JSON.stringify: a property holding undefined is not written
    if (field === undefined) continue
    out += (first ? "" : ",") + quoted(key) + ":" + canonicalJson(field)
    first = false
  }
  return out + "}"
}

/** The length of every hash the state keeps: a SHA-256 in hex. */
export const hexDigits = 64
/** The bytes of a SHA-256. */
export const digestBytes = hexDigits / 2

// `crypto.hash` (Node 20.12+) hashes a string in one native call, about twice as fast as a Hash object
const sha256Hex: (text: string) => string = typeof crypto.hash === "function"
  ? (text) => crypto.hash("sha256", text, "hex")
  : (text) => crypto.createHash("sha256").update(text).digest("hex")

/** The SHA-256 of bytes as 32 one-byte characters (`binary`: the digest's own bytes, no hex to make). */
export const bytesDigest: (bytes: Uint8Array) => string = typeof crypto.hash === "function"
  ? (bytes) => crypto.hash("sha256", bytes, "binary")
  : (bytes) => crypto.createHash("sha256").update(bytes).digest("binary")

/** The SHA-256 of the value's canonical JSON (UTF-8), in lower-case hex: what a sync state keeps per item. */
export const contentHash = (value: unknown): string => sha256Hex(canonicalJson(value))

/**
 * The SHA-256 of a record's JSON text exactly as sent, in lower-case hex:
 * the same text has the same canonical content, so a record whose text the
 * state saw confirmed needs no parse and no canonical form.
 */
export const textHash: (text: string) => string = sha256Hex
