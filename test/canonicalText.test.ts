/**
 * The canonical form read from a record's text agrees with the reference
 * (`canonicalJson` of the parsed value) wherever it answers, and gives up on
 * every form it does not take.
 */
import { describe, expect, it } from "@effect/vitest"
import { canonicalRecordText } from "../src/internal/state/canonicalText.js"
import { canonicalJson } from "../src/internal/state/contentHash.js"

const reference = (text: string) => canonicalJson(JSON.parse(text))

/** Agrees with the reference, and says whether it answered. */
const agrees = (text: string, idField = "source_id"): boolean => {
  const read = canonicalRecordText(text, idField)
  if (read === undefined) return false
  expect(read.text).toBe(reference(text))
  const id = (JSON.parse(text) as Record<string, unknown>)[idField]
  expect(read.id).toBe(typeof id === "string" ? id : undefined)
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
    for (const text of left) expect(canonicalRecordText(text, "a"), text).toBeUndefined()
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
    for (let i = 0; i < 5_000; i++) {
      const record = value(0)
      const object = record !== null && typeof record === "object" && !Array.isArray(record) ? record : { source_id: record }
      const text = JSON.stringify(object, undefined, random() < 0.2 ? 1 : undefined)
      if (agrees(text)) answered++
    }
    // most generated records are in the forms it takes
    expect(answered).toBeGreaterThan(2_000)
  })
})
