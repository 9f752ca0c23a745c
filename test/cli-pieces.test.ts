import * as ValidationError from "@effect/cli/ValidationError"
import * as HelpDoc from "@effect/cli/HelpDoc"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BulkReport } from "../src/BulkMetadata.js"
import { ConfigurationError, InputError, PartialFailure } from "../src/cli/CliError.js"
import { checkDryRun, positiveFlag, requestBytes } from "../src/cli/BulkCommand.js"
import { payloadLimit } from "../src/cli/Connection.js"
import { causeLines } from "../src/cli/ErrorOutput.js"
import * as Report from "../src/cli/Report.js"
import { ExitCode, exitCodeOfCause } from "../src/cli/ExitCode.js"
import { parseMetadata, readMetadata } from "../src/cli/Metadata.js"
import { UnauthorizedError } from "../src/VoucherifyError.js"

describe("metadata", () => {
  it.effect("accepts a JSON object and refuses anything else clearly", () =>
    Effect.gen(function*() {
      expect(yield* parseMetadata(`{"a":1,"b":{"c":true}}`, "--metadata")).toEqual({ a: 1, b: { c: true } })
      const message = (text: string) => Effect.map(Effect.flip(parseMetadata(text, "--metadata")), (e) => e.message)
      expect(yield* message("[1]")).toBe(`--metadata must be a JSON object like {"key":"value"}, got an array`)
      expect(yield* message("null")).toMatch(/got null$/)
      expect(yield* message("\"x\"")).toMatch(/got a string$/)
      expect(yield* message("{a:1}")).toMatch(/^--metadata is not valid JSON: /)
    }))

  it.effect("reads --metadata-file and wants exactly one source", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "cli-meta-")), "m.json")
      writeFileSync(path, `{"origin":"PL"}`)
      expect(yield* readMetadata({ metadata: Option.none(), metadataFile: Option.some(path) })).toEqual({ origin: "PL" })
      const both = yield* Effect.flip(readMetadata({ metadata: Option.some("{}"), metadataFile: Option.some(path) }))
      expect(both.message).toBe("give either --metadata or --metadata-file, not both")
      const none = yield* Effect.flip(readMetadata({ metadata: Option.none(), metadataFile: Option.none() }))
      expect(none.message).toMatch(/^the metadata is required/)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("exit codes and error lines", () => {
  const unauthorized = new UnauthorizedError({ status: 401, key: "unauthorized", request_id: "v-123" })

  it("maps each kind of failure to its documented code", () => {
    expect(exitCodeOfCause(Cause.fail(new InputError({ message: "x" })))).toBe(ExitCode.InputError)
    expect(exitCodeOfCause(Cause.fail(ValidationError.missingValue(HelpDoc.p("x"))))).toBe(ExitCode.InputError)
    expect(exitCodeOfCause(Cause.fail(new ConfigurationError({ message: "x" })))).toBe(ExitCode.AuthOrConfig)
    expect(exitCodeOfCause(Cause.fail(unauthorized))).toBe(ExitCode.AuthOrConfig)
    expect(exitCodeOfCause(Cause.fail(new PartialFailure({ message: "x" })))).toBe(ExitCode.PartialFailure)
    expect(exitCodeOfCause(Cause.interrupt(FiberId.none))).toBe(ExitCode.Interrupted)
  })

  it("prints one line per cause with the key and request id, no stack", () => {
    const cause = Cause.parallel(Cause.fail(unauthorized), Cause.die(new Error("boom\n  at somewhere")))
    expect(causeLines(cause)).toEqual([
      "error: Voucherify refused the credentials (HTTP 401, key unauthorized) [request v-123]",
      "internal error: boom at somewhere"
    ])
    expect(causeLines(Cause.fail(ValidationError.missingValue(HelpDoc.p("x"))))).toEqual([])
  })
})

describe("--concurrency and --max-bytes", () => {
  it.effect("are whole numbers of at least 1, and a bad value names its option", () =>
    Effect.gen(function*() {
      expect(yield* positiveFlag("concurrency", "3")).toBe(3)
      for (const text of ["abc", "0", "-1", "2.5", ""]) {
        expect((yield* Effect.flip(positiveFlag("concurrency", text))).message).toBe(
          `--concurrency must be a positive integer, got "${text}"`
        )
      }
      expect((yield* Effect.flip(positiveFlag("max-bytes", "1e6"))).message).toBe(
        `--max-bytes must be a positive integer, got "1e6"`
      )
    }))

  it.effect("defaults to the configured limit and must lie between 1 and it", () =>
    Effect.gen(function*() {
      expect(yield* payloadLimit({})).toBe(10_485_760)
      const limit = yield* payloadLimit({ maxPayloadBytes: 5000 })
      expect(limit).toBe(5000)
      expect((yield* Effect.flip(payloadLimit({ maxPayloadBytes: 0 }))).message).toMatch(/VOUCHERIFY_MAX_PAYLOAD_BYTES/)
      expect(yield* requestBytes(Option.none(), limit)).toBe(5000)
      expect(yield* requestBytes(Option.some(4000), limit)).toBe(4000)
      expect(yield* requestBytes(Option.some(5000), limit)).toBe(5000)
      for (const n of [0, 5001]) {
        const error = yield* Effect.flip(requestBytes(Option.some(n), limit))
        expect(error).toBeInstanceOf(InputError)
        expect(error.message).toBe(
          `--max-bytes must be between 1 and 5000 (the configured limit, VOUCHERIFY_MAX_PAYLOAD_BYTES), got ${n}`
        )
      }
    }))
})

describe("--report", () => {
  const report: BulkReport = {
    status: "completed",
    totalIds: 1,
    chunks: 1,
    bytes: 100,
    accepted: { ids: 1, chunks: 1, actions: [] },
    rejected: [],
    unknown: [],
    notAttempted: [],
    durationMs: 5
  }

  it.effect("refuses a directory up front, and leaves no temporary file when the write fails", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "cli-report-"))
      const taken = join(dir, "taken")
      mkdirSync(taken)
      const early = yield* Effect.flip(Report.checkWritable(taken))
      expect(early.message).toBe(`cannot write the report to ${taken}: it is a directory`)
      yield* Report.checkWritable(join(dir, "new.json"))
      const late = yield* Effect.flip(Report.write(taken, report))
      expect(late.message).toMatch(/^cannot write the report to /)
      expect(readdirSync(dir)).toEqual(["taken"])
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("--dry-run", () => {
  it.effect("refuses --report, which it would never write", () =>
    Effect.gen(function*() {
      yield* checkDryRun({ dryRun: true, report: Option.none() })
      yield* checkDryRun({ dryRun: false, report: Option.some("r.json") })
      const error = yield* Effect.flip(checkDryRun({ dryRun: true, report: Option.some("r.json") }))
      expect(error).toBeInstanceOf(InputError)
      expect(error.message).toBe("--dry-run sends nothing and writes no report: give either --dry-run or --report")
    }))
})
