import * as CliConfig from "@effect/cli/CliConfig"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Report as BulkReport } from "../src/BulkRun.js"
import { ConfigurationError, InputError, PartialFailure } from "../src/cli/CliError.js"
import { checkDryRun, options, requestBytes } from "../src/cli/BulkCommand.js"
import * as Connection from "../src/cli/Connection.js"
import { payloadLimit } from "../src/cli/Connection.js"
import { causeLines } from "../src/cli/ErrorOutput.js"
import * as Report from "../src/cli/Report.js"
import { ExitCode, exitCodeOfCause } from "../src/cli/ExitCode.js"
import * as Metadata from "../src/cli/Metadata.js"
import * as AsyncActionCommand from "../src/cli/AsyncActionCommand.js"
import { undocumented } from "../src/cli/Flag.js"
import * as MockServerCommand from "../src/cli/MockServerCommand.js"
import * as RecordsCommand from "../src/cli/RecordsCommand.js"
import { UnauthorizedError } from "../src/VoucherifyError.js"

/** Parses `args` with one of the command's options, as `@effect/cli` does. */
const parse = <A>(options: Options.Options<A>, args: ReadonlyArray<string>) =>
  Effect.map(Options.processCommandLine(options, args, CliConfig.defaultConfig), ([, , value]) => value)

/** The message `@effect/cli` prints when `args` are refused. */
const refusal = <A>(options: Options.Options<A>, args: ReadonlyArray<string>) =>
  Effect.map(Effect.flip(parse(options, args)), (error) => HelpDoc.toAnsiText(error.error).trim())

describe("metadata", () => {
  it.effect("--metadata accepts a JSON object and refuses anything else clearly", () =>
    Effect.gen(function*() {
      const option = Metadata.options.metadata
      expect(yield* parse(option, ["--metadata", `{"a":1,"b":{"c":true}}`])).toEqual(Option.some({ a: 1, b: { c: true } }))
      const message = (text: string) => refusal(option, ["--metadata", text])
      expect(yield* message("[1]")).toBe(`--metadata must be a JSON object like {"key":"value"}, got an array`)
      expect(yield* message("null")).toMatch(/got null$/)
      expect(yield* message("\"x\"")).toMatch(/got a string$/)
      expect(yield* message("{a:1}")).toMatch(/^--metadata is not valid JSON: \S/)
      // sent exactly as written, or refused naming the key
      expect(yield* parse(option, ["--metadata", `{"big":9007199254740991,"x":[1.0,1e2,-0.5e-1]}`])).toEqual(
        Option.some({ big: 9007199254740991, x: [1, 100, -0.05] })
      )
      expect(yield* message(`{"erp_id":9007199254740993}`)).toBe(
        "--metadata: metadata.erp_id: 9007199254740993 cannot be sent exactly (it would arrive as 9007199254740992); quote it as a string"
      )
      expect(yield* message(`{"a":[{"b":12345678901234567890}]}`)).toBe(
        "--metadata: metadata.a[0].b: 12345678901234567890 cannot be sent exactly (it would arrive as 12345678901234567000); quote it as a string"
      )
      expect(yield* message(`{"a":{"__proto__":{}}}`)).toBe(
        `--metadata: metadata.a.__proto__: a key named "__proto__" cannot be sent: JavaScript takes it for the object's prototype; rename the key`
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("reads --metadata-file and wants exactly one source", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "cli-meta-"))
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text)
        return join(dir, name)
      }
      const option = Metadata.options.metadataFile
      const path = file("m.json", `{"origin":"PL"}`)
      expect(yield* parse(option, ["--metadata-file", path])).toEqual(Option.some({ origin: "PL" }))
      expect(yield* refusal(option, ["--metadata-file", file("a.json", "[1]")])).toBe(
        `--metadata-file ${join(dir, "a.json")} must be a JSON object like {"key":"value"}, got an array`
      )
      expect(yield* refusal(option, ["--metadata-file", file("n.json", `{"n": 1e400}`)])).toBe(
        `--metadata-file ${join(dir, "n.json")}: metadata.n: 1e400 cannot be sent exactly (too large for a JSON number); quote it as a string`
      )
      const broken = file("b.json", "{a")
      expect(yield* refusal(option, ["--metadata-file", broken])).toMatch(new RegExp(`^--metadata-file ${broken} is not valid JSON: \\S`))
      expect(yield* refusal(option, ["--metadata-file", join(dir, "none.json")])).toBe(
        `cannot read --metadata-file ${join(dir, "none.json")}: no such file or directory`
      )

      expect(yield* Metadata.select({ metadata: Option.none(), metadataFile: Option.some({ a: 1 }) })).toEqual({ a: 1 })
      const both = yield* Effect.flip(Metadata.select({ metadata: Option.some({}), metadataFile: Option.some({}) }))
      expect(both.message).toBe("give either --metadata or --metadata-file, not both")
      const none = yield* Effect.flip(Metadata.select({ metadata: Option.none(), metadataFile: Option.none() }))
      expect(none).toMatchObject({ message: "no metadata given", hint: "give --metadata '<json object>' or --metadata-file <path>" })
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
      "hint: check --app-id and --app-token (or VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN)",
      "internal error: boom at somewhere"
    ])
    expect(causeLines(Cause.fail(ValidationError.missingValue(HelpDoc.p("x"))))).toEqual([])
  })
})

describe("--concurrency and --max-bytes", () => {
  it.effect("are whole numbers of at least 1, and a bad value names its option", () =>
    Effect.gen(function*() {
      expect(yield* parse(options.concurrency, ["--concurrency", "3"])).toBe(3)
      expect(yield* parse(options.concurrency, [])).toBe(2)
      for (const text of ["abc", "0", "-1", "2.5", "", "99999999999999999999"]) {
        expect(yield* refusal(options.concurrency, ["--concurrency", text])).toBe(
          `--concurrency must be a positive integer, got "${text}"`
        )
      }
      expect(yield* parse(options.maxBytes, ["--max-bytes", "4000"])).toEqual(Option.some(4000))
      expect(yield* parse(options.maxBytes, [])).toEqual(Option.none())
      expect(yield* refusal(options.maxBytes, ["--max-bytes", "1e6"])).toBe(
        `--max-bytes must be a positive integer, got "1e6"`
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("defaults to the configured limit and must not exceed it", () =>
    Effect.gen(function*() {
      expect(yield* payloadLimit({})).toBe(10_485_760)
      const limit = yield* payloadLimit({ maxPayloadBytes: 5000 })
      expect(limit).toBe(5000)
      expect((yield* Effect.flip(payloadLimit({ maxPayloadBytes: 0 }))).message).toMatch(/VOUCHERIFY_MAX_PAYLOAD_BYTES/)
      expect(yield* requestBytes(Option.none(), limit)).toBe(5000)
      expect(yield* requestBytes(Option.some(4000), limit)).toBe(4000)
      expect(yield* requestBytes(Option.some(5000), limit)).toBe(5000)
      const error = yield* Effect.flip(requestBytes(Option.some(5001), limit))
      expect(error).toBeInstanceOf(InputError)
      expect(error.message).toBe(
        `--max-bytes must be between 1 and 5000 (the configured limit, VOUCHERIFY_MAX_PAYLOAD_BYTES), got 5001`
      )
    }))
})

describe("--column and --field", () => {
  it.effect("choose CSV or NDJSON, plain lines otherwise, and not both", () =>
    Effect.gen(function*() {
      expect(yield* parse(options.format, [])).toEqual({ _tag: "Lines" })
      expect(yield* parse(options.format, ["--column", "id"])).toEqual({ _tag: "Csv", column: "id" })
      expect(yield* parse(options.format, ["--field", "code"])).toEqual({ _tag: "Ndjson", field: "code" })
      expect(yield* refusal(options.format, ["--column", "id", "--field", "code"])).toMatch(/--column.*--field/)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("connection options", () => {
  const environment = (variables: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(variables))))

  it.effect("fall back to their VOUCHERIFY_* variables, and a flag wins", () =>
    Effect.gen(function*() {
      const env = { VOUCHERIFY_APP_ID: "env-id", VOUCHERIFY_APP_TOKEN: "env-token", VOUCHERIFY_BASE_URL: "https://env" }
      const flags = yield* parse(Options.all(Connection.options), ["--app-id", "flag-id"]).pipe(environment(env))
      expect(flags.appId).toEqual(Option.some("flag-id"))
      expect(Option.map(flags.appToken, Redacted.value)).toEqual(Option.some("env-token"))
      expect(flags.baseUrl).toEqual(Option.some("https://env"))
      const none = yield* parse(Options.all(Connection.options), []).pipe(environment({}))
      expect(none).toEqual({ appId: Option.none(), appToken: Option.none(), cluster: Option.none(), baseUrl: Option.none() })
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("--report", () => {
  const report: BulkReport = {
    status: "completed",
    unit: "ids",
    total: 1,
    chunks: 1,
    bytes: 100,
    accepted: { items: 1, chunks: 1, actions: [] },
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

describe("help", () => {
  it("documents every option of every command (its help comes from the same record of options)", () => {
    for (
      const commandOptions of [
        options,
        RecordsCommand.options,
        AsyncActionCommand.getOptions,
        AsyncActionCommand.awaitOptions,
        MockServerCommand.options
      ]
    ) {
      // the ids argument of async-action await is an argument, not an option
      const { ids: _ids, ...rest } = commandOptions as Record<string, unknown>
      expect(undocumented(commandOptions === AsyncActionCommand.awaitOptions ? rest : commandOptions)).toEqual([])
    }
  })
})
