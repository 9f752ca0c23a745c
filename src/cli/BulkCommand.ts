/**
 * `products-metadata`, `customers-metadata` and `vouchers-metadata`: one
 * metadata object onto every id of a file, in full bulk requests.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Voucherify from "../Voucherify.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import { type BulkTarget, bulkTargets } from "../VoucherifySchema.js"
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

const options = {
  ids: Options.text("ids").pipe(
    Options.withPseudoName("path|-"),
    Options.withDescription("File of ids, one per line (or CSV with --column, NDJSON with --field); - reads stdin")
  ),
  column: optionalText("column", "name", "Read a CSV file with a header row; ids are in this column"),
  field: optionalText("field", "name", "Read NDJSON; ids are this field of each object"),
  metadata: optionalText("metadata", "json", "The metadata, a JSON object: '{\"key\":\"value\"}'"),
  metadataFile: optionalText("metadata-file", "path", "Read the metadata JSON object from a file"),
  // Read as text and checked by the handler, so that a bad value is named with its option.
  concurrency: Options.text("concurrency").pipe(
    Options.withPseudoName("n"),
    Options.withDescription("Requests in flight at the same time"),
    Options.withDefault("2")
  ),
  maxBytes: Options.text("max-bytes").pipe(
    Options.withPseudoName("bytes"),
    Options.withDescription("Largest request body in bytes (default and maximum: $VOUCHERIFY_MAX_PAYLOAD_BYTES, else 10485760)"),
    Options.optional
  ),
  await: Options.boolean("await").pipe(Options.withDescription("Follow every async action until it is DONE or FAILED")),
  continueOnError: Options.boolean("continue-on-error").pipe(
    Options.withDescription("Report a refused request and go on (bad credentials still stop the run)")
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Print the chunk plan and send nothing")),
  report: optionalText("report", "path", "Write the JSON report, accounting for every id, also on failure or Ctrl-C"),
  mock: Options.boolean("mock").pipe(
    Options.withDescription("Run against a freshly started embedded mock server instead of Voucherify")
  ),
  quiet: Options.boolean("quiet").pipe(Options.withDescription("No progress output")),
  ...Connection.options
}

type Flags = Command.Command.ParseConfig<typeof options>

const idFormat = (flags: Flags): Effect.Effect<IdInput.IdFormat, InputError> => {
  if (Option.isSome(flags.column) && Option.isSome(flags.field)) {
    return Effect.fail(new InputError({ message: "give either --column (CSV) or --field (NDJSON), not both" }))
  }
  if (Option.isSome(flags.column)) return Effect.succeed({ _tag: "Csv", column: flags.column.value })
  if (Option.isSome(flags.field)) return Effect.succeed({ _tag: "Ndjson", field: flags.field.value })
  return Effect.succeed({ _tag: "Lines" })
}

/** `--dry-run` sends nothing, so it has no report to write: asking for both is a mistake. */
export const checkDryRun = (
  flags: { readonly dryRun: boolean; readonly report: Option.Option<string> }
): Effect.Effect<void, InputError> =>
  flags.dryRun && Option.isSome(flags.report)
    ? Effect.fail(
      new InputError({ message: "--dry-run sends nothing and writes no report: give either --dry-run or --report" })
    )
    : Effect.void

/** The value of `--<name>`, a whole number of at least 1. */
export const positiveFlag = (name: string, text: string): Effect.Effect<number, InputError> => {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  return Number.isSafeInteger(value) && value >= 1
    ? Effect.succeed(value)
    : Effect.fail(new InputError({ message: `--${name} must be a positive integer, got "${text}"` }))
}

/**
 * The body size limit of the run: `--max-bytes`, at most the configured
 * `limit` (which is also the default). A dry run and a real run both use it.
 */
export const requestBytes = (maxBytes: Option.Option<number>, limit: number): Effect.Effect<number, InputError> =>
  Option.match(maxBytes, {
    onNone: () => Effect.succeed(limit),
    onSome: (n) =>
      Number.isSafeInteger(n) && n >= 1 && n <= limit
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
  flags: Flags,
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
const voucherifyLayer = (
  flags: Flags,
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
    const format = yield* idFormat(flags)
    const metadata = yield* Metadata.readMetadata(flags)
    const concurrency = yield* positiveFlag("concurrency", flags.concurrency)
    // One limit for the plan and the run: the one the client is configured with.
    const env = yield* Connection.environment
    const requested = yield* Effect.transposeOption(Option.map(flags.maxBytes, (text) => positiveFlag("max-bytes", text)))
    const maxBytes = yield* requestBytes(requested, yield* Connection.payloadLimit(env))
    const source = yield* IdInput.open(flags.ids, format)
    if (flags.dryRun) {
      return yield* DryRun.printPlan(source, {
        metadata,
        field: bulkTargets[target].field,
        maxBytes
      })
    }
    if (Option.isSome(flags.report)) yield* Report.checkWritable(flags.report.value)
    yield* BulkRun.run({
      target,
      source,
      metadata,
      concurrency,
      maxBytes,
      awaitCompletion: flags.await,
      continueOnError: flags.continueOnError,
      reportPath: flags.report,
      progress: Progress.modeFor(flags.quiet, process.stderr.isTTY)
    }).pipe(Effect.provide(voucherifyLayer(flags, env)))
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
