/**
 * Metadata JSON text sent exactly as written (issue 16, case 4): which
 * numbers a double holds exactly, and where in the text the first one that
 * it does not hold stands.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { firstInexact } from "../src/internal/bulk/metadataText.js"
import { inexactNumberReason, isExactNumber } from "../src/internal/exactNumber.js"

/** A decimal's value as `digits e exponent`, its digits without leading or trailing zeros: equal for equal values. */
const decimalOf = (text: string): string => {
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text)!
  const digits = BigInt(`${whole}${fraction}` || "0")
  if (digits === 0n) return "0"
  let mantissa = digits
  let exp = BigInt(exponent) - BigInt(fraction.length)
  while (mantissa % 10n === 0n) {
    mantissa /= 10n
    exp += 1n
  }
  return `${sign}${mantissa}e${exp}`
}

describe("isExactNumber", () => {
  it("tells the numbers a double holds as written from those it changes", () => {
    for (const exact of ["0", "-0", "1", "1.0", "1.50", "1e2", "1E+2", "100e-2", "0.1", "-2.5e-3", "9007199254740991", "9007199254740992", "1e21", "123456789012345680000", "5e-324", "1.7976931348623157e308"]) {
      expect(isExactNumber(exact), exact).toBe(true)
    }
    for (const inexact of ["9007199254740993", "12345678901234567890", "0.10000000000000001", "1e400", "-1e400", "1e-400", "2.00000000000000000001"]) {
      expect(isExactNumber(inexact), inexact).toBe(false)
    }
  })

  /** The integer the text of a double as JSON writes it denotes (`1e+21`, `1.5e+22`: integers too). */
  const sentInteger = (text: string): bigint => {
    const [mantissa, exponent = "0"] = text.split("e")
    const [whole, fraction = ""] = mantissa!.split(".")
    return BigInt(whole! + fraction) * 10n ** BigInt(Number(exponent) - fraction.length)
  }

  it.prop(
    "an integer is exact exactly when the double sent for it writes that integer",
    [fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n })],
    ([n]) => {
      const sent = JSON.stringify(Number(n))
      expect(isExactNumber(String(n))).toBe(sentInteger(sent) === n)
      // within the safe range, always
      if (n >= -(2n ** 53n) && n <= 2n ** 53n) expect(isExactNumber(String(n))).toBe(true)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "a decimal of up to 17 digits is exact exactly when the double sent for it denotes the same decimal",
    [fc.boolean(), fc.stringMatching(/^[0-9]{1,9}$/), fc.stringMatching(/^[0-9]{1,8}$/)],
    ([negative, whole, fraction]) => {
      const text = `${negative ? "-" : ""}${whole}.${fraction}`
      expect(isExactNumber(text), text).toBe(decimalOf(text) === decimalOf(JSON.stringify(Number(text))))
      // 15 digits or fewer: always (DBL_DIG)
      if (whole.length + fraction.length <= 15) expect(isExactNumber(text), text).toBe(true)
    },
    { fastCheck: { numRuns: 3000 } }
  )

  it("takes a spreadsheet's spellings, and says what an inexact number would arrive as", () => {
    for (const exact of ["+5", ".5", "5.", "+.25e1", "12.50"]) expect(isExactNumber(exact), exact).toBe(true)
    expect(inexactNumberReason("1e-400")).toBe("1e-400 cannot be sent exactly (it would arrive as 0); quote it as a string")
    expect(inexactNumberReason("-1e400")).toBe("-1e400 cannot be sent exactly (too large for a JSON number); quote it as a string")
    expect(inexactNumberReason("0.30000000000000004")).toBeUndefined()
  })

  it.prop("what JSON.stringify writes is exact", [fc.double({ noNaN: true, noDefaultInfinity: true })], ([x]) => {
    expect(isExactNumber(JSON.stringify(x))).toBe(true)
  })
})

describe("firstInexact", () => {
  it("names the first value that would not be sent as written, by its path", () => {
    expect(firstInexact(`{"a":1,"b":[1,{"c":"9007199254740993","d":9007199254740993}]}`)).toEqual({
      path: "metadata.b[1].d",
      reason: "9007199254740993 cannot be sent exactly (it would arrive as 9007199254740992); quote it as a string"
    })
    // keys and strings that look like numbers, brackets or escapes are no values
    expect(firstInexact(`{"9007199254740993":"x","q\\"[1,":"]}{","e\\u0031":[[],[[0.1]]],"n":null,"t":true}`)).toBeUndefined()
    expect(firstInexact(`{"list":[[1,2],[3,12345678901234567890]]}`)?.path).toBe("metadata.list[1][1]")
    expect(firstInexact(` { "a" : { "b" : [ 1 , 2 , 1e999 ] } } `)?.path).toBe("metadata.a.b[2]")
    expect(firstInexact(`{"a":{},"b":[],"c":-0.0}`)).toBeUndefined()
    // a __proto__ key, however it is spelled
    expect(firstInexact(`{"x":{"\\u005f_proto__":1}}`)).toMatchObject({ path: "metadata.x.__proto__" })
    expect(firstInexact(`{"__proto__":{}}`, "record")).toMatchObject({ path: "record.__proto__" })
  })

  it.prop("finds nothing in the JSON text of any value JavaScript holds", [fc.jsonValue()], ([value]) => {
    const text = JSON.stringify({ value })
    fc.pre(!text.includes("__proto__"))
    expect(firstInexact(text)).toBeUndefined()
  })
})

describe("metadata handed to the library", () => {
  it.effect("an object literal with a __proto__ key is refused with a clear message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Stream.runDrain(Stream.make("a").pipe(BulkMetadata.chunk({ metadata: { __proto__: { admin: true } } as never })))
      )
      expect(error).toMatchObject({
        _tag: "InvalidRequestError",
        path: "metadata",
        reason: `must be a JSON object, got an object whose prototype is another object (a "__proto__" key sets the prototype in JavaScript, it is not sent as a key)`
      })
      class Point {
        x = 1
      }
      const instance = yield* Effect.flip(Stream.runDrain(Stream.make("a").pipe(BulkMetadata.chunk({ metadata: { p: new Point() } }))))
      expect(instance).toMatchObject({ path: "metadata.p", reason: "an instance of Point is not a JSON value" })
    }))
})
