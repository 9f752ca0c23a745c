/**
 * An id given twice in a records file is refused before the first request:
 * the built `bin` against a mock server started in this process, whose
 * request log stays empty. Standard input, which cannot be read twice, still
 * stops at the second occurrence; the metadata commands still send a
 * repeated id as it is.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { existsSync } from "node:fs"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, flagsOf, scratch } from "./support/cli.js"

const { file, path } = scratch("cli-duplicates-")
const timeout = 120_000
const n = 60_000

// bodies of 100 kB: without the first look, hundreds of them would go before the repeat is read
const small = ["--max-bytes", "100000"]

const requests = Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (server) => server.requests)

/** `n` records, the first one's id again at the end: NDJSON lines 1 and n + 1. */
const ndjsonWithRepeat = (repeat: string) =>
  Array.from({ length: n }, (_, i) => `{"source_id":"${i === 0 ? "dup-0" : `sku-${i}`}","metadata":{"rank":${i}}}\n`)
    .join("") + repeat + "\n"

describe("an id given twice in a records file", () => {
  it.live("NDJSON, lines 1 and 60,001: refused naming both, exit 1, and not one request", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = file("repeat.ndjson", ndjsonWithRepeat(`{"source_id":"dup-0","metadata":{"rank":-1}}`))
      const run = yield* cli(["products-update", "--records", records, ...small, "--concurrency", "4", "--quiet", ...flagsOf(server)])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr).toBe(
        `error: ${records}, line 60001: source_id: "dup-0" is also on line 1: a run takes each record once ` +
          "(bodies in flight together may be applied in either order)\n"
      )
      expect(yield* requests).toEqual([])
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("NDJSON, the same id spelled with an escape: caught by the first look too", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = file("escaped.ndjson", ndjsonWithRepeat(`{"metadata":{"rank":-1},"source_id":"dup\\u002d0"}`))
      const run = yield* cli(["products-update", "--records", records, ...small, "--quiet", ...flagsOf(server)])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/line 60001: source_id: "dup-0" is also on line 1: a run takes each record once/)
      expect(yield* requests).toEqual([])
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("CSV, records on lines 2 and 60,002 (the header is line 1): refused naming both and the column", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const rows = Array.from({ length: n }, (_, i) => `"Ball, ${i}",${i === 0 ? "dup-0" : `sku-${i}`},${i}\n`).join("")
      const records = file("repeat.csv", `name,sku,rank\n${rows}"again",dup-0,-1\n`)
      const run = yield* cli(["products-update", "--records", records, "--id-column", "sku", ...small, "--quiet", ...flagsOf(server)])
      expect(run.code).toBe(1)
      expect(run.stderr).toBe(
        `error: ${records}, line 60002, column "sku": source_id: "dup-0" is also on line 2: a run takes each record once ` +
          "(bodies in flight together may be applied in either order)\n"
      )
      expect(yield* requests).toEqual([])
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("with --mock: refused before the mock server starts or a journal is written", () =>
    Effect.gen(function*() {
      const journal = path("repeat.journal")
      const records = file("mock.ndjson", `{"source_id":"a"}\n{"source_id":"b"}\n{"source_id":"a"}\n`)
      const run = yield* cli(["customers-update", "--records", records, "--mock", "--journal", journal])
      expect(run.code).toBe(1)
      expect(run.stderr).toBe(
        `error: ${records}, line 3: source_id: "a" is also on line 1: a run takes each record once ` +
          "(bodies in flight together may be applied in either order)\n"
      )
      expect(existsSync(journal)).toBe(false)
    }), timeout)

  it.live("a file without a repeat runs as before: every record accepted", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const records = file("unique.ndjson", ndjsonWithRepeat(`{"source_id":"sku-${n}","metadata":{"rank":${n}}}`))
      const run = yield* cli(["products-update", "--records", records, ...small, "--quiet", ...flagsOf(server)])
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^records +60,001$/m)
      expect(run.stdout).toMatch(/^accepted +60,001 records in \d\d+ chunks$/m)
      const stored = yield* server.getRecord("products", `sku-${n}`)
      expect(Option.map(stored, (record) => record.metadata)).toEqual(Option.some({ rank: n }))
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)

  it.live("stdin cannot be read twice: the run stops at the second occurrence, after what went before", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const text = `{"source_id":"a"}\n{"source_id":"b"}\n{"source_id":"a"}\n`
      const run = yield* cli(["products-update", "--records", "-", "--max-bytes", "30", "--quiet", ...flagsOf(server)], {}, text)
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/stdin, line 3: source_id: "a" is also on line 1/)
      // bodies of one record each: the first two may have gone before line 3 was read
      expect((yield* requests).length).toBeLessThanOrEqual(2)
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)
})

describe("a repeated id in the metadata commands' --ids", () => {
  it.live("is sent as it is, as before: the same metadata twice is harmless", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const ids = file("ids.txt", "a\nb\na\n")
      const run = yield* cli(["products-metadata", "--ids", ids, "--metadata", `{"tier":"gold"}`, "--quiet", ...flagsOf(server)])
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^ids +3$/m)
      expect(run.stdout).toMatch(/^accepted +3 ids in 1 chunk$/m)
      expect(yield* server.getMetadata("products", "a")).toEqual(Option.some({ tier: "gold" }))
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), timeout)
})
