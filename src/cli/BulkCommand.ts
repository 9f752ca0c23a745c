/**
 * `products-metadata`, `customers-metadata` and `vouchers-metadata`: one
 * metadata object onto every id of a file, in full bulk requests.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { resolve as resolvePath } from "node:path"
import type * as Voucherify from "../Voucherify.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import * as BulkMetadata from "../BulkMetadata.js"
import { type BulkTarget } from "../VoucherifySchema.js"
import { bulkTargets } from "../internal/bulkTargets.js"
import * as BulkRun from "./BulkRun.js"
import { ConfigurationError, InputError } from "./CliError.js"
import * as Connection from "./Connection.js"
import * as DryRun from "./DryRun.js"
import * as IdInput from "./IdInput.js"
import * as Metadata from "./Metadata.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"

const optionalText = (name: string, pseudoName: string, description: string) =>
  Options.text(name).pipe(Options.withPseudoName(pseudoName), Options.withDescription(description), Options.optional)

/** `--<option>`'s text as a whole number of at least 1; the message names the option. */
const PositiveInteger = (option: string) =>
  Schema.compose(Schema.String.pipe(Schema.pattern(/^\d+$/)), Schema.NumberFromString).pipe(
    Schema.int(),
    Schema.positive(),
    Schema.annotations({
      message: (issue) => ({ message: `--${option} must be a positive integer, got ${JSON.stringify(issue.actual)}`, override: true })
    })
  )

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/**
 * `--<option>`'s duration: `90s`, `65m`, `1h`, or Effect's `65 minutes`
 * (and `0` where `zero` allows it); the message names the option.
 */
export const DurationOption = (option: string, zero: boolean) =>
  Schema.String.pipe(
    Schema.transformOrFail(Schema.DurationFromSelf, {
      strict: true,
      decode: (text, _, ast) => {
        const refused = ParseResult.fail(new ParseResult.Type(ast, text))
        const trimmed = text.trim()
        const compact = trimmed.match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/)
        const decoded = compact !== null && (compact[2] !== undefined || Number(compact[1]) === 0)
          ? Option.some(Duration.millis(Number(compact[1]) * (durationUnits[compact[2] ?? "ms"] ?? 1)))
          // Duration would take a negative wait as none at all
          : trimmed.startsWith("-")
          ? Option.none()
          : Duration.decodeUnknown(trimmed)
        return Option.match(Option.filter(decoded, (d) => zero || !Duration.isZero(d)), {
          onNone: () => refused,
          onSome: ParseResult.succeed
        })
      },
      encode: (duration) => ParseResult.succeed(`${Duration.toMillis(duration)}ms`)
    }),
    // one line naming the option, not the schema's tree
    Schema.annotations({
      message: (issue) => ({
        message: `--${option} must be a duration such as ${zero ? "0, " : ""}90s, 65m or 1h, got ${JSON.stringify(issue.actual)}`,
        override: true
      })
    })
  )

/** `--max-quota-wait`: `0` stops at the first wait. */
const QuotaWait = DurationOption("max-quota-wait", true)

/** `--await-timeout`: how long the actions are followed (by `--await`, and by `async-action await`). */
export const awaitTimeout = (description: string) =>
  Options.text("await-timeout").pipe(
    Options.withPseudoName("duration"),
    Options.withDescription(description),
    Options.withSchema(DurationOption("await-timeout", false)),
    Options.optional
  )

const idFormat: Options.Options<IdInput.IdFormat> = Options.text("column").pipe(
  Options.withPseudoName("name"),
  Options.withDescription("Read a CSV file with a header row; ids are in this column"),
  Options.map((column) => ({ _tag: "Csv", column } as const)),
  Options.orElse(Options.text("field").pipe(
    Options.withPseudoName("name"),
    Options.withDescription("Read NDJSON; ids are this field of each object"),
    Options.map((field) => ({ _tag: "Ndjson", field } as const))
  )),
  Options.withDefault({ _tag: "Lines" } as const)
)

export const options = {
  ids: Options.text("ids").pipe(
    Options.withPseudoName("path|-"),
    Options.withDescription("File of ids, one per line (or CSV with --column, NDJSON with --field); - reads stdin")
  ),
  format: idFormat,
  ...Metadata.options,
  // Text decoded by a schema rather than `Options.integer`, whose own message for "abc" cannot name the option.
  concurrency: Options.text("concurrency").pipe(
    Options.withPseudoName("n"),
    Options.withDescription("Requests in flight at the same time"),
    Options.withSchema(PositiveInteger("concurrency")),
    Options.withDefault(2)
  ),
  maxBytes: Options.text("max-bytes").pipe(
    Options.withPseudoName("bytes"),
    Options.withDescription("Largest request body in bytes (default and maximum: $VOUCHERIFY_MAX_PAYLOAD_BYTES, else 10485760)"),
    Options.withSchema(PositiveInteger("max-bytes")),
    Options.optional
  ),
  await: Options.boolean("await").pipe(Options.withDescription("Follow every async action until it is DONE or FAILED")),
  awaitTimeout: awaitTimeout("With --await: how long each action is followed before giving up on it (default 10m)"),
  continueOnError: Options.boolean("continue-on-error").pipe(
    Options.withDescription("Report a refused request and go on (bad credentials still stop the run)")
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Print the chunk plan and send nothing")),
  report: optionalText("report", "path", "Write the JSON report, accounting for every id, also on failure or Ctrl-C"),
  mock: Options.boolean("mock").pipe(
    Options.withDescription("Run against a freshly started embedded mock server instead of Voucherify")
  ),
  quiet: Options.boolean("quiet").pipe(Options.withDescription("No progress output")),
  maxQuotaWait: Options.text("max-quota-wait").pipe(
    Options.withPseudoName("duration"),
    Options.withDescription("Longest wait for the hourly bulk quota worth making (0 stops at the first refusal)"),
    Options.withSchema(QuotaWait),
    Options.withDefault(Duration.minutes(65))
  ),
  journal: optionalText("journal", "path", "Write every request's outcome to this journal, to resume after a crash"),
  resume: Options.boolean("resume").pipe(
    Options.withDescription("With --journal: resume its run, sending only what it does not hold as accepted")
  ),
  createdIds: optionalText("created-ids", "path", "With --await: write the ids that did not exist and were created"),
  failedIds: optionalText("failed-ids", "path", "With --await: write the ids that were not updated (unknown voucher codes)"),
  ...Connection.options
}

type Flags = Command.Command.ParseConfig<typeof options>

/** The flags every bulk command shares: all but the input and what each record gets (`RecordsCommand.ts` takes them too). */
export type SharedFlags = Omit<Flags, "ids" | "format" | "metadata" | "metadataFile">

/** `--dry-run` sends nothing, so it has no report to write: asking for both is a mistake. */
export const checkDryRun = (
  flags: { readonly dryRun: boolean; readonly report: Option.Option<string> }
): Effect.Effect<void, InputError> =>
  flags.dryRun && Option.isSome(flags.report)
    ? Effect.fail(
      new InputError({ message: "--dry-run sends nothing and writes no report: give either --dry-run or --report" })
    )
    : Effect.void

/**
 * Options that only mean something beside another one, and files that must
 * be different files. `input` names the option of `flags.ids`, the input file.
 */
export const checkCombinations = (
  flags: {
    readonly ids: string
    readonly dryRun: boolean
    readonly resume: boolean
    readonly journal: Option.Option<string>
    readonly await: boolean
    readonly awaitTimeout: Option.Option<Duration.Duration>
    readonly report: Option.Option<string>
    readonly createdIds: Option.Option<string>
    readonly failedIds: Option.Option<string>
  },
  input = "--ids"
): Effect.Effect<void, InputError> => {
  if (flags.dryRun) {
    const unused = [
      ...(Option.isSome(flags.journal) ? ["--journal"] : []),
      ...(flags.resume ? ["--resume"] : []),
      ...(flags.await ? ["--await"] : []),
      ...(Option.isSome(flags.awaitTimeout) ? ["--await-timeout"] : []),
      ...(Option.isSome(flags.createdIds) ? ["--created-ids"] : []),
      ...(Option.isSome(flags.failedIds) ? ["--failed-ids"] : [])
    ]
    if (unused.length > 0) {
      return Effect.fail(new InputError({ message: `--dry-run sends nothing: ${unused.join(", ")} would do nothing with it` }))
    }
  }
  // one file for two purposes would be overwritten by the second (an ids file emptied, a journal clobbered)
  const files = [
    [input, Option.some(flags.ids)],
    ["--report", flags.report],
    ["--journal", flags.journal],
    ["--created-ids", flags.createdIds],
    ["--failed-ids", flags.failedIds]
  ] as const
  const seen = new Map<string, string>()
  for (const [option, path] of files) {
    if (Option.isNone(path) || path.value === "-") continue
    const resolved = resolvePath(path.value)
    const other = seen.get(resolved)
    if (other !== undefined) {
      return Effect.fail(new InputError({ message: `${other} and ${option} name the same file, ${path.value}: give each its own` }))
    }
    seen.set(resolved, option)
  }
  if (flags.resume && Option.isNone(flags.journal)) {
    return Effect.fail(new InputError({ message: "--resume needs --journal <path>: the journal of the run to resume" }))
  }
  const reconciled = Option.isSome(flags.createdIds) ? "--created-ids" : Option.isSome(flags.failedIds) ? "--failed-ids" : undefined
  if (reconciled !== undefined && !flags.await) {
    return Effect.fail(
      new InputError({ message: `${reconciled} needs --await: the ids come from the reports of finished actions` })
    )
  }
  if (Option.isSome(flags.awaitTimeout) && !flags.await) {
    return Effect.fail(new InputError({ message: "--await-timeout needs --await: it is how long the actions are followed" }))
  }
  return Effect.void
}

/**
 * The body size limit of the run: `--max-bytes`, at most the configured
 * `limit` (which is also the default). A dry run and a real run both use it.
 */
export const requestBytes = (maxBytes: Option.Option<number>, limit: number): Effect.Effect<number, InputError> =>
  Option.match(maxBytes, {
    onNone: () => Effect.succeed(limit),
    onSome: (n) =>
      n <= limit
        ? Effect.succeed(n)
        : Effect.fail(
          new InputError({
            message: `--max-bytes must be between 1 and ${limit} (the configured limit, VOUCHERIFY_MAX_PAYLOAD_BYTES), got ${n}`
          })
        )
  })

/**
 * The embedded server, in front of which `--mock` runs. Imported only then:
 * the server and its HTTP stack stay out of every other start of the `bin`.
 */
const mockLayer = (
  flags: SharedFlags,
  env: VoucherifyConfig.Options,
  MockVoucherifyServer: typeof import("../testing/MockVoucherifyServer.js")
): Layer.Layer<Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigurationError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    yield* Console.error(`mock: MockVoucherifyServer listening on ${server.baseUrl}`)
    return Connection.layer(Connection.apply(env, flags, server))
  })).pipe(
    Layer.provide(MockVoucherifyServer.layer()),
    Layer.catchAll((error) =>
      Layer.fail(
        error._tag === "ConfigurationError"
          ? error
          : new ConfigurationError({ message: `cannot start the mock server: ${error.message}` })
      )
    )
  )

/** The real service, or the one in front of a fresh embedded server. */
export const voucherifyLayer = (
  flags: SharedFlags,
  env: VoucherifyConfig.Options
): Layer.Layer<Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigurationError, HttpClient.HttpClient> =>
  flags.mock
    ? Layer.unwrapEffect(
      Effect.map(Effect.promise(() => import("../testing/MockVoucherifyServer.js")), (module) => mockLayer(flags, env, module))
    )
    : Connection.layer(Connection.apply(env, flags))

const handler = (target: BulkTarget) => (flags: Flags) =>
  Effect.gen(function*() {
    yield* checkDryRun(flags)
    yield* checkCombinations(flags)
    const metadata = yield* Metadata.select(flags)
    // One limit for the plan and the run: the one the client is configured with.
    const env = yield* Connection.environment
    const limit = yield* Connection.payloadLimit(env)
    const maxBytes = yield* requestBytes(flags.maxBytes, limit)
    const source = yield* IdInput.open(flags.ids, flags.format, limit)
    if (flags.dryRun) {
      const chunks = source.ids.pipe(BulkMetadata.chunk({ metadata, field: bulkTargets[target].field, maxBytes }))
      return yield* DryRun.printPlan(source, chunks, { maxBytes, what: "ids" })
    }
    if (Option.isSome(flags.report)) yield* Report.checkWritable(flags.report.value)
    yield* BulkRun.run({
      ...runSettings(flags, maxBytes),
      target,
      source,
      what: "ids",
      start: (shared) => BulkMetadata.run(source.ids, { ...shared, target, metadata })
    }).pipe(Effect.provide(voucherifyLayer(flags, env)))
  })

/** What the shared flags say of a run, whatever its input. */
export const runSettings = (flags: SharedFlags, maxBytes: number) => ({
  concurrency: flags.concurrency,
  maxBytes,
  awaitCompletion: flags.await,
  awaitTimeout: Option.getOrUndefined(flags.awaitTimeout),
  continueOnError: flags.continueOnError,
  reportPath: flags.report,
  progress: Progress.modeFor(flags.quiet, process.stderr.isTTY),
  maxQuotaWait: flags.maxQuotaWait,
  journal: Option.map(flags.journal, (path) => ({ path, resume: flags.resume })),
  createdIds: flags.createdIds,
  failedIds: flags.failedIds
})

const make = (name: string, target: BulkTarget, description: string) =>
  Command.make(name, options, handler(target)).pipe(Command.withDescription(description))

export const commands = [
  make(
    "products-metadata",
    "products",
    "Set metadata on products by source id (unknown ids are created: check them first)"
  ),
  make(
    "customers-metadata",
    "customers",
    "Set metadata on customers by source id (unknown ids are created: check them first)"
  ),
  make("vouchers-metadata", "vouchers", "Set metadata on vouchers by code (unknown codes are reported, not created)")
] as const
