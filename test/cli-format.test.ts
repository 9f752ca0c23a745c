import { describe, expect, it } from "@effect/vitest"
import { count } from "../src/cli/Format.js"

describe("count", () => {
  it("writes numbers as toLocaleString('en-US') does, without loading ICU", () => {
    const samples = [0, 1, 12, 123, 1234, 12_345, 999_999, 1_000_000, 10_000_000, 2 ** 53 - 1, -1, -1234, 1234.5, 0.125, 15.9999, 2.0004, -0.5, NaN]
    for (const n of samples) expect(count(n), String(n)).toBe(n.toLocaleString("en-US"))
  })
})
