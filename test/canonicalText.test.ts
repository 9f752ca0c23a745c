/**
 * The canonical form read from a record's text (`canonicalText.ts`) and
 * from its bytes (`canonicalBytes.ts`) agrees with the reference
 * (`canonicalJson` of the parsed value) wherever it answers, and each gives
 * up on every form it does not take; a batch hashed from bytes has the
 * hashes of the string way.
 */
import { describe, expect, it } from "@effect/vitest"
import { CanonicalBytes } from "../src/internal/state/canonicalBytes.js"
import { canonicalRecordText } from "../src/internal/state/canonicalText.js"
import { canonicalJson, contentHash, textHash } from "../src/internal/state/contentHash.js"
import { hashRecords } from "../src/internal/state/recordHashes.js"

const reference = (text: string) => canonicalJson(JSON.parse(text))

const bytesReaders = new Map<string, CanonicalBytes>()
/** The byte reader's canonical text and id, or `undefined` where it gives up. */
const readBytes = (text: string, idField: string): { readonly text: string; readonly id: string | undefined } | undefined => {
  let reader = bytesReaders.get(idField)
  if (reader === undefined) bytesReaders.set(idField, reader = new CanonicalBytes(idField))
  if (!reader.read(text)) return undefined
  const canonical = new TextDecoder().decode(
    reader.asIs ? reader.src.subarray(0, reader.length) : reader.out.subarray(reader.start, reader.end)
  )
  return { text: canonical, id: reader.id }
}

/** A key with a character beyond U+FFFF: its bytes sort apart from its UTF-16 code units, and the byte reader gives up. */
const astralKey = (text: string): boolean =>
  Object.keys(flatten(JSON.parse(text))).some((key) => /[\ud800-\udbff]/.test(key))
const flatten = (value: unknown, into: Record<string, true> = {}): Record<string, true> => {
  if (value !== null && typeof value === "object") {
    for (const [key, field] of Object.entries(value)) {
      into[key] = true
      flatten(field, into)
    }
  }
  return into
}

/** Both readers agree with the reference where they answer, and with each other on whether they do; says whether they answered. */
const agrees = (text: string, idField = "source_id"): boolean => {
  const read = canonicalRecordText(text, idField)
  const bytes = readBytes(text, idField)
  if (read === undefined) {
    expect(bytes, text).toBeUndefined()
    return false
  }
  expect(read.text).toBe(reference(text))
  const id = (JSON.parse(text) as Record<string, unknown>)[idField]
  expect(read.id).toBe(typeof id === "string" ? id : undefined)
  if (astralKey(text)) expect(bytes, text).toBeUndefined()
  else expect(bytes, text).toEqual(read)
  return true
}

describe("canonicalRecordText", () => {
  it("reads the common forms as the reference writes them: keys sorted at every depth, whitespace dropped", () => {
    const answered = [
      `{"source_id":"p-1","metadata":{"tier":"gold","weight":0.25,"city":"Kraków","active":true}}`,
      `{"b":1,"a":{"d":[2,1,{"z":null,"y":false}],"c":"x"}}`,
      ` { "z" : [ ] , "a" : { } , "m" : [ [ ] , { } ] , "source_id" : "é 🎁" } `,
      `{"10":1,"9":2,"__proto__":{"y":1,"x":2},"a":null}`,
      `{"n":[0,-1,10,123456789012345,0.5,-0.5,10.25,0.000001,0.0000015,1.000001]}`,
      `{"a!":1,"a":2,"a ":3,"A":4,"é":5,"e":6,"\u2028":"\u2029","\u007f":"del"}`,
      `{"source_id":1}`,
      `{ "a":1}`,
      `{"a":1 }`,
      `{"a" :1}`,
      `{"a": 1}`,
      `{"a":1, "b":2}`,
      `{"a":1,"b":{ "c":2}}`,
      `{"a":[1, 2],"b":[{"d":1,"c":2}]}`,
      `{"a":{"b":{"d":1,"c":2}},"e":[[{"g":1,"f":2}]]}`,
      `{}`
    ]
    for (const text of answered) expect(agrees(text), text).toBe(true)
  })

  it("gives up on every form it does not take, so that the reference decides", () => {
    const left = [
      `{"a":"with \\" a quote"}`,
      `{"a":"\\u0041"}`,
      `{"a\\n":1}`,
      `{"a":1.50}`,
      `{"a":1.0}`,
      `{"a":1e3}`,
      `{"a":1E3}`,
      `{"a":-0}`,
      `{"a":-0.0}`,
      `{"a":1234567890123456}`,
      `{"a":0.1234567890123456}`,
      `{"a":0.0000001}`,
      `{"a":1,"a":2}`,
      `{"b":1,"a":2,"b":3}`,
      `{"a":"\ud800"}`,
      `{"a":"\udc00x"}`,
      `[1,2]`,
      `"text"`,
      `{"a":1} x`,
      `{"a":1,}`,
      `{"a":tru}`,
      `{"a":00}`,
      `{"a":.5}`,
      `{"a":1.}`,
      `{"a":"cut`
    ]
    for (const text of left) {
      expect(canonicalRecordText(text, "a"), text).toBeUndefined()
      expect(readBytes(text, "a"), text).toBeUndefined()
    }
  })

  it("the byte reader gives up on a key beyond U+FFFF (UTF-8 sorts it after U+FFFF, UTF-16 before), and finds ids of any script", () => {
    // U+1F381 and U+FF5E: by code units 🎁 (0xD83C…) sorts first, by bytes (F0… against EF…) last
    const text = `{"🎁":1,"～":2}`
    expect(canonicalRecordText(text, "a")?.text).toBe(reference(text))
    expect(readBytes(text, "a")).toBeUndefined()
    expect(readBytes(`{"a":"🎁","é":"Łódź","source_id":"ид-1"}`, "source_id")).toEqual({
      text: `{"a":"🎁","source_id":"ид-1","é":"Łódź"}`,
      id: "ид-1"
    })
    expect(readBytes(`{"source_id":"p-1","nested":{"source_id":"p-2"}}`, "source_id")?.id).toBe("p-1")
    expect(readBytes(`{"source_id":7}`, "source_id")).toEqual({ text: `{"source_id":7}`, id: undefined })
  })

  it("a batch takes the string way for the records the byte reader leaves, with the same hashes", () => {
    const texts = [
      `{"source_id":"p-1","a":"\ud800"}`,
      `{"source_id":"p-2","a":"with \\" a quote"}`,
      `{"source_id":"p-3","🎁":1,"～":2}`,
      `{"source_id":"p-4","a":1e3}`,
      `{"source_id":"p-5","b":1,"a":2}`
    ]
    const batch = hashRecords(texts, "source_id")
    expect(batch.ids).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5"])
    expect(Buffer.from(batch.sent).toString("hex")).toBe(texts.map(textHash).join(""))
    expect(Buffer.from(batch.hashes).toString("hex")).toBe(texts.map((text) => contentHash(JSON.parse(text))).join(""))
  })

  it("a text already canonical is its own canonical form (its bytes hashed once)", () => {
    const reader = new CanonicalBytes("source_id")
    expect(reader.read(`{"a":[1,{"b":2}],"source_id":"p-1"}`)).toBe(true)
    expect(reader.asIs).toBe(true)
    for (const text of [`{"a":[1, {"b":2}],"source_id":"p-1"}`, `{"source_id":"p-1","a":1}`, `{"a":{"c":1,"b":2}}`, ` {"a":1}`]) {
      expect(reader.read(text), text).toBe(true)
      expect(reader.asIs, text).toBe(false)
    }
  })

  it("agrees with the reference on thousands of generated records, in any key order", () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const pick = <A>(values: ReadonlyArray<A>): A => values[Math.floor(random() * values.length)]!
    const keys = ["a", "b", "ab", "a b", "B", "é", "10", "9", "source_id", "z", "🎁", "__proto__"]
    const scalar = () =>
      pick<() => unknown>([
        () => pick(["", "x", "gold", "Łódź", "a\"b", "tab\there", "🎁", "\u2028"]),
        () => Math.floor(random() * 1e6) - 5e5,
        () => Math.round(random() * 1e6) / 100,
        () => random() * 1e-5,
        () => random() * 1e25,
        () => pick([true, false, null])
      ])()
    const value = (depth: number): unknown => {
      if (depth > 2 || random() < 0.5) return scalar()
      if (random() < 0.3) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))
      const out: Record<string, unknown> = {}
      for (let i = Math.floor(random() * 5); i > 0; i--) out[pick(keys)] = value(depth + 1)
      return out
    }
    let answered = 0
    const texts: Array<string> = []
    for (let i = 0; i < 5_000; i++) {
      const record = value(0)
      const object = record !== null && typeof record === "object" && !Array.isArray(record) ? record : { source_id: record }
      const text = JSON.stringify(object, undefined, random() < 0.2 ? 1 : undefined)
      texts.push(text)
      if (agrees(text)) answered++
    }
    // most generated records are in the forms it takes
    expect(answered).toBeGreaterThan(2_000)
    // a batch hashed over bytes (the hashing worker's way) has the hashes of the string way, for every record
    const withIds = texts.map((text, i) => JSON.stringify({ ...JSON.parse(text), source_id: `p-${i}-ид` }))
    const batch = hashRecords(withIds, "source_id")
    expect(batch.ids).toEqual(withIds.map((text) => (JSON.parse(text) as { source_id: string }).source_id))
    expect(Buffer.from(batch.sent).toString("hex")).toBe(withIds.map(textHash).join(""))
    expect(Buffer.from(batch.hashes).toString("hex")).toBe(withIds.map((text) => contentHash(JSON.parse(text))).join(""))
  })
})
