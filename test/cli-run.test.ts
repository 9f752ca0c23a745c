/**
 * `RunCommand.run` in process, against the in-memory Voucherify: what happens
 * to the report when the run is cut short after its outcome is known.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as RunCommand from "../src/cli/RunCommand.js"
import { InputError } from "../src/cli/CliError.js"
import { VoucherifyTest } from "../src/testing/index.js"
import * as VoucherifyConfig from "../src/VoucherifyConfig.js"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { IdLineError } from "../src/BulkMetadata.js"
import * as BulkRecords from "../src/BulkRecords.js"

const dir = mkdtempSync(join(tmpdir(), "cli-run-"))

/** The in-memory Voucherify, and the config a command provides beside it. */
const testLayer = Layer.merge(
  VoucherifyTest.layer({ processingDelay: "0 millis" }),
  VoucherifyConfig.layer({ appId: "a", appToken: Redacted.make("t") }).pipe(Layer.orDie)
)

const options = (ids: Stream.Stream<string, InputError | IdLineError>, report: string): RunCommand.RunOptions => ({
  target: "products",
  source: { ids, fraction: () => undefined, name: "ids.txt", description: { kind: "stream" } },
  what: "ids",
  start: (shared) => BulkMetadata.run(ids, { ...shared, target: "products", metadata: { a: 1 } }),
  concurrency: 1,
  maxBytes: 10_000,
  awaitCompletion: true,
  continueOnError: false,
  reportPath: Option.some(report),
  progress: "none",
  maxQuotaWait: Duration.minutes(65),
  journal: Option.none(),
  createdIds: Option.none(),
  failedIds: Option.none(),
  state: Option.none()
})

describe("the report of a run", () => {
  it.live("that cannot be written does not hide why the run failed", () =>
    Effect.gen(function*() {
      const report = join(dir, "no-such-dir", "r.json")
      const ids = Stream.concat(Stream.make("p1"), Stream.fail(new InputError({ message: "ids.txt, line 2: bad" })))
      const error = yield* Effect.flip(
        RunCommand.run(options(ids, report)).pipe(Effect.provide(testLayer))
      )
      expect(error).toMatchObject({ _tag: "BulkRunError", error: { _tag: "InputError", message: "ids.txt, line 2: bad" } })
      expect(existsSync(report)).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("of an input without ids fails with the input error itself, and says so", () =>
    Effect.gen(function*() {
      const report = join(dir, "empty.json")
      const error = yield* Effect.flip(
        RunCommand.run(options(Stream.empty, report)).pipe(Effect.provide(testLayer))
      )
      expect(error).toMatchObject({ _tag: "InputError", message: "ids.txt has no ids" })
      expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({
        status: "failed",
        failure: "ids.txt has no ids",
        total: 0
      })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("names the input in the error of a bad line", () =>
    Effect.gen(function*() {
      const report = join(dir, "bad-line.json")
      const ids = Stream.concat(Stream.make("p1", "p2"), Stream.fail(new IdLineError({ line: 3, reason: "not valid UTF-8" })))
      const error = yield* Effect.flip(
        RunCommand.run(options(ids, report)).pipe(Effect.provide(testLayer))
      )
      expect(error).toMatchObject({
        _tag: "BulkRunError",
        error: { _tag: "InputError", message: "ids.txt, line 3: not valid UTF-8" }
      })
      expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({
        status: "failed",
        failure: "ids.txt, line 3: not valid UTF-8",
        total: 2
      })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("of records names the input and the line of a refused record, and calls an empty input one without records", () =>
    Effect.gen(function*() {
      const report = join(dir, "records.json")
      const text = "{\"source_id\":\"p1\"}\n{\"source_id\":\"p2\",\"price\":\"12\"}\n"
      const records = BulkRecords.ndjson(Stream.make(new TextEncoder().encode(text)))
      const recordsOptions = (input: typeof records, path: string): RunCommand.RunOptions => ({
        ...options(Stream.empty, path),
        source: { bytes: Stream.empty, fraction: () => undefined, name: "products.ndjson", description: { kind: "stream" } },
        what: "records",
        start: (shared) => BulkRecords.run(input, { ...shared, target: "products" })
      })
      const error = yield* Effect.flip(RunCommand.run(recordsOptions(records, report)).pipe(Effect.provide(testLayer)))
      expect(error).toMatchObject({
        _tag: "BulkRunError",
        error: { _tag: "InputError", message: "products.ndjson, line 2: price: expected number, actual \"12\"" }
      })
      const empty = yield* Effect.flip(
        RunCommand.run(recordsOptions(BulkRecords.ndjson(Stream.empty), join(dir, "empty-records.json"))).pipe(Effect.provide(testLayer))
      )
      expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({ status: "failed", total: 1 })
      expect(empty).toMatchObject({ _tag: "InputError", message: "products.ndjson has no records" })
    }).pipe(Effect.provide(NodeContext.layer)))
})
