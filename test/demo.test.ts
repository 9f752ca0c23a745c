/**
 * `npm start`, with fewer ids: the demo runs end to end over real HTTP and
 * exits 0 only once the server's store is verified, the second per-record
 * run having sent only the changed records.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { spawnSync } from "node:child_process"
import { resolve } from "node:path"

import * as Demo from "../demo/Demo.js"

const root = resolve(import.meta.dirname, "..")

describe("demo", () => {
  it("updates, awaits and verifies every product, then each with its own values, then only the 1% changed, and prints the summaries", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "demo/main.ts", "30000"], {
      cwd: root,
      encoding: "utf8",
      // small requests, so that a small run still makes several of them
      env: { ...process.env, DEMO_MAX_BYTES: "100000", DEMO_RECORDS: "20000" }
    })
    expect(run.stderr).toMatch(/^MockVoucherifyServer on http:\/\/127\.0\.0\.1:\d+: streaming 30,000 product ids/)
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^status +completed$/m)
    expect(run.stdout).toMatch(/^ids +30,000$/m)
    expect(run.stdout).toMatch(/^chunks +5$/m)
    expect(run.stdout).toMatch(/^average fill +\d+\.\d\d% of 100,000 bytes$/m)
    expect(run.stdout).toMatch(/^actions +5 DONE, 0 FAILED$/m)
    expect(run.stdout).toMatch(/^verified +all 30,000 products in the server's store carry the metadata$/m)
    // then the per-record run: 20,000 products, each with its own tier and price, into a sync state
    expect(run.stderr).toMatch(
      /^per-record: streaming 20,000 products as NDJSON, each with its own tier and price, into a sync state$/m
    )
    // three summaries: the metadata run's, then the two per-record runs'
    const summaries = run.stdout.split(/^(?=status )/m)
    expect(summaries).toHaveLength(3)
    const [, first, again] = summaries
    expect(first).toMatch(/^records +20,000$/m)
    expect(first).toMatch(/^unchanged +0 records /m)
    expect(first).toMatch(/^accepted +20,000 records in 16 chunks$/m)
    expect(first).toMatch(/^actions +16 DONE, 0 FAILED$/m)
    expect(first).toMatch(/^created +20,000 /m)
    expect(first).toMatch(/^verified +all 20,000 products in the server's store carry their own tier and price$/m)
    // and again, with 1% changed: the state lets only those through
    expect(run.stderr).toMatch(
      /^per-record, again: 20,000 products, 1% changed \(200\): a sync state sends only those$/m
    )
    expect(again).toMatch(/^records +20,000$/m)
    expect(again).toMatch(/^unchanged +19,800 records \(the state holds them as confirmed: not sent\)$/m)
    expect(again).toMatch(/^accepted +200 records in 1 chunk$/m)
    expect(again).toMatch(/^actions +1 DONE, 0 FAILED$/m)
    expect(again).toMatch(/^updated +200 /m)
    expect(again).toMatch(/^not updated +0$/m)
    expect(again).toMatch(
      /^verified +only the 200 changed products were sent, 19,800 skipped; the store holds the new values$/m
    )
  }, 120_000)

  it.effect("refuses an id count or DEMO_MAX_BYTES that is not a whole number of at least 1", () =>
    Effect.gen(function*() {
      expect(yield* Demo.parseCount("DEMO_MAX_BYTES", undefined)).toEqual(Option.none())
      expect(yield* Demo.parseCount("DEMO_MAX_BYTES", "100000")).toEqual(Option.some(100_000))
      for (const text of ["abc", "", "0", "-5", "1.5", "1e3", "99999999999999999999"]) {
        const error = yield* Effect.flip(Demo.parseCount("DEMO_MAX_BYTES", text))
        expect(error).toMatchObject({
          _tag: "InputError",
          message: `DEMO_MAX_BYTES must be a whole number of at least 1, got "${text}"`
        })
      }
    }))
})
