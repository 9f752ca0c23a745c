/**
 * `products-metadata`, `customers-metadata` and `vouchers-metadata`: one
 * metadata object onto every id of a file, in full bulk requests.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Types from "effect/Types"
import { resolve as resolvePath } from "node:path"
import * as BulkJournal from "../BulkJournal.js"
import type * as Voucherify from "../Voucherify.js"
import type * as Settings from "../internal/settings.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import * as BulkMetadata from "../BulkMetadata.js"
import { bulkTargets } from "../internal/bulkTargets.js"
import type { BulkTarget } from "../VoucherifySchema.js"
import * as RunCommand from "./RunCommand.js"
import { ConfigurationError, InputError } from "./CliError.js"
import * as Connection from "./Connection.js"
import * as DryRun from "./DryRun.js"
import { fileProblem } from "./ErrorOutput.js"
import { delimiter, delimiterDoc, docsOf, document, flag, integer } from "./Flag.js"
import type { CommandDoc } from "./Help.js"
import * as IdInput from "./IdInput.js"
import * as Metadata from "./Metadata.js"
import { isLines } from "../internal/bulk/linePacker.js"
import { contentHash } from "../internal/state/contentHash.js"
import { lineIds } from "../internal/state/sync.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as State from "./State.js"

const optionalPath = (name: string, description: string) =>
  document(Options.text(name).pipe(Options.optional), { flag: `--${name}`, value: "path", type: "file path", description })

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * `--<option>`'s duration: `90s`, `65m`, `1h`, `7d`, or Effect's `65 minutes`
 * (and `0` where `zero` allows it); the message names the option.
 */
export const DurationOption = (option: string, zero: boolean, examples = "90s, 65m or 1h") =>
  Schema.String.pipe(
    Schema.transformOrFail(Schema.DurationFromSelf, {
      strict: true,
      decode: (text, _, ast) => {
        const refused = ParseResult.fail(new ParseResult.Type(ast, text))
        const trimmed = text.trim()
        const compact = trimmed.match(/^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/)
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
        message: `--${option} must be a duration such as ${zero ? "0, " : ""}${examples}, got ${JSON.stringify(issue.actual)}`,
        override: true
      })
    })
  )

/** `--await-timeout`: how long the actions are followed (by `--await`, and by `async-action await`). */
export const awaitTimeout = (description: string) =>
  document(Options.text("await-timeout").pipe(Options.withSchema(DurationOption("await-timeout", false)), Options.optional), {
    flag: "--await-timeout",
    value: "duration",
    type: "duration: 90s, 10m, 1h",
    default: "10m",
    description
  })

/** `--column` or `--field`, or neither (one id a line); both is a mistake said in the options' words. */
const idFormat: Options.Options<IdInput.IdFormat> = document(
  Options.all({
    column: Options.optional(Options.text("column")),
    field: Options.optional(Options.text("field")),
    delimiter
  }).pipe(
    Options.mapEffect(({ column, delimiter, field }) =>
      Option.isSome(column) && Option.isSome(field)
        ? Effect.fail(ValidationError.invalidValue(HelpDoc.p("give either --column or --field, not both")))
        : Option.isSome(delimiter) && Option.isNone(column)
        ? Effect.fail(ValidationError.invalidValue(HelpDoc.p("--delimiter reads CSV: give --column <name> too")))
        : Effect.succeed<IdInput.IdFormat>(
          Option.isSome(column)
            ? { _tag: "Csv", column: column.value, ...(Option.isSome(delimiter) ? { delimiter: delimiter.value } : {}) }
            : Option.isSome(field)
            ? { _tag: "Ndjson", field: field.value }
            : { _tag: "Lines" }
        )
    )
  ),
  { flag: "--column", value: "name", type: "text", description: "Read --ids as CSV with a header row; the ids are in this column" },
  { flag: "--field", value: "name", type: "text", description: "Read --ids as NDJSON; the ids are this field of each object" },
  delimiterDoc("With --column: what separates the fields (; as a spreadsheet may write, tab, |)")
)

export const options = {
  ids: document(Options.text("ids"), {
    flag: "--ids",
    value: "path|-",
    type: "file path, or - for stdin",
    required: true,
    description: "The ids, one per line (blank lines, CRLF and a BOM are fine); or CSV with --column, NDJSON with --field"
  }),
  format: idFormat,
  ...Metadata.options,
  concurrency: document(
    integer("concurrency", 1).pipe(Options.withDefault(2)),
    { flag: "--concurrency", value: "n", type: "integer, at least 1", default: "2", description: "Requests in flight at the same time" }
  ),
  maxBytes: document(
    integer("max-bytes", 1).pipe(Options.optional),
    {
      flag: "--max-bytes",
      value: "bytes",
      type: "integer, at least 1",
      default: "the configured limit",
      description: "Largest request body, at most the configured limit: VOUCHERIFY_MAX_PAYLOAD_BYTES, else 10485760"
    }
  ),
  await: flag("await", "Follow every async action until it is DONE or FAILED, and read its report file"),
  awaitTimeout: awaitTimeout("With --await: how long each action is followed before giving up on it"),
  continueOnError: flag("continue-on-error", "Report a refused request and go on (bad credentials still stop the run)"),
  dryRun: flag("dry-run", "Print the chunk plan and send nothing"),
  report: optionalPath("report", "Write the JSON report, accounting for every id, also on failure or Ctrl-C"),
  mock: flag("mock", "Run against a freshly started embedded mock server instead of Voucherify"),
  quiet: flag("quiet", "No progress (errors are still printed)"),
  maxQuotaWait: document(
    Options.text("max-quota-wait").pipe(Options.withSchema(DurationOption("max-quota-wait", true)), Options.withDefault(Duration.minutes(65))),
    {
      flag: "--max-quota-wait",
      value: "duration",
      type: "duration: 0, 90s, 65m, 1h",
      default: "65m",
      description: "Longest wait for the hourly bulk quota worth making (0 stops at the first refusal)"
    }
  ),
  journal: optionalPath("journal", "Write every request's outcome to this journal (a new file), to resume after a crash"),
  resume: flag("resume", "With --journal: resume its run, sending only what it does not hold as accepted"),
  state: optionalPath(
    "state",
    "Keep a sync state in this SQLite file: send only what Voucherify has not confirmed as it is (implies --await)"
  ),
  stateMaxAge: document(
    Options.text("state-max-age").pipe(Options.withSchema(DurationOption("state-max-age", false, "90s, 12h or 7d")), Options.optional),
    {
      flag: "--state-max-age",
      value: "duration",
      type: "duration: 90s, 12h, 7d",
      default: "no limit",
      description: "With --state: send again what was confirmed longer ago (edits made in the dashboard since)"
    }
  ),
  createdIds: optionalPath("created-ids", "With --await: write the ids that did not exist and were created"),
  failedIds: optionalPath("failed-ids", "With --await: write the ids that were not updated (unknown voucher codes)"),
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
    readonly state: Option.Option<string>
    readonly stateMaxAge: Option.Option<Duration.Duration>
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
    ["--failed-ids", flags.failedIds],
    ["--state", flags.state]
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
  if (Option.isSome(flags.stateMaxAge) && Option.isNone(flags.state)) {
    return Effect.fail(new InputError({ message: "--state-max-age needs --state <path>: it is how old a confirmation may be" }))
  }
  if (Option.isSome(flags.state) && flags.resume) {
    return Effect.fail(
      new InputError({
        message: "--state and --resume do not go together: a run with a state sends only what the state has not confirmed",
        hint: "run the command again with --state and without --journal/--resume"
      })
    )
  }
  // a state learns from the reports of finished actions: --state awaits them
  const awaiting = flags.await || Option.isSome(flags.state)
  const reconciled = Option.isSome(flags.createdIds) ? "--created-ids" : Option.isSome(flags.failedIds) ? "--failed-ids" : undefined
  if (reconciled !== undefined && !awaiting) {
    return Effect.fail(
      new InputError({ message: `${reconciled} needs --await: the ids come from the reports of finished actions` })
    )
  }
  if (Option.isSome(flags.awaitTimeout) && !awaiting) {
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

/**
 * `--journal` without `--resume` starts a new journal: one that exists
 * already is refused here, before a mock server starts or an ids file is
 * read (the journal itself refuses it too, under its lock). `--resume`
 * needs a journal to resume: with none there (a mistyped path, a first run)
 * it is refused too, rather than sending every id again into a new one.
 */
export const checkJournal = (
  journal: Option.Option<string>,
  resume: boolean
): Effect.Effect<void, BulkJournal.JournalExistsError | InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (Option.isNone(journal)) return
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(journal.value).pipe(
      Effect.mapError((error) => new InputError({ message: `cannot read the journal ${journal.value}: ${fileProblem(error)}` }))
    )
    if (exists && !resume) return yield* new BulkJournal.JournalExistsError({ path: journal.value })
    if (!exists && resume) {
      return yield* new InputError({
        message: `there is no journal ${journal.value} to resume: nothing was sent`,
        hint: `leave out --resume to start the run with a new journal ${journal.value}`
      })
    }
  })

/** `--state` and `--state-max-age`. */
export const stateOf = (flags: Pick<SharedFlags, "state" | "stateMaxAge">) =>
  Option.map(flags.state, (path) => ({ path, maxAge: Option.getOrUndefined(flags.stateMaxAge) }))

/** What the shared flags say of a run, whatever its input. */
export const runSettings = (flags: SharedFlags, maxBytes: number) => ({
  concurrency: flags.concurrency,
  maxBytes,
  // a state learns only from finished actions' reports
  awaitCompletion: flags.await || Option.isSome(flags.state),
  awaitTimeout: Option.getOrUndefined(flags.awaitTimeout),
  continueOnError: flags.continueOnError,
  reportPath: flags.report,
  progress: Progress.modeFor(flags.quiet, process.stderr.isTTY),
  maxQuotaWait: flags.maxQuotaWait,
  journal: Option.map(flags.journal, (path) => ({ path, resume: flags.resume })),
  createdIds: flags.createdIds,
  failedIds: flags.failedIds,
  state: stateOf(flags)
})

/**
 * Runs `run` (an opened input, its job) as the shared flags say, once the
 * checks that need no server pass: the report's folder, the journal, the
 * credentials. Only then does a mock server start or a request go out.
 */
export const runChecked = (
  flags: SharedFlags,
  env: Settings.Settings,
  maxBytes: number,
  run: Pick<RunCommand.RunOptions, "target" | "source" | "what" | "start">
) =>
  Effect.gen(function*() {
    if (Option.isSome(flags.report)) yield* Report.checkWritable(flags.report.value)
    yield* checkJournal(flags.journal, flags.resume)
    // a state that is refused is refused before a mock server starts (the run opens and locks it again)
    if (Option.isSome(flags.state)) yield* Effect.scoped(State.open(flags.state.value, { readOnly: true }))
    if (!flags.mock) yield* Connection.checkCredentials(Connection.apply(env, flags))
    yield* RunCommand.run({ ...runSettings(flags, maxBytes), ...run }).pipe(Effect.provide(voucherifyLayer(flags, env)))
  })

/**
 * Every check that needs no server runs first, in this order: the flags,
 * the configuration, the ids (the file is there and holds an id), the
 * report's folder, the journal, the credentials (`runChecked`).
 */
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
      return yield* Effect.scoped(Effect.gen(function*() {
        const identify = { _tag: "Same", kind: "metadata", hash: contentHash(metadata) } as const
        const filter = yield* DryRun.stateFilter(stateOf(flags), target, identify)
        // with a state, each id is looked up: one-id-per-line bytes are read as strings
        const ids = filter === undefined
          ? source.ids
          : filter.through(isLines(source.ids) ? lineIds(source.ids, maxBytes) : source.ids)
        const chunks = ids.pipe(BulkMetadata.chunk({ metadata, field: bulkTargets[target].field, maxBytes }))
        return yield* DryRun.printPlan(source, chunks, { maxBytes, what: "ids", unchanged: filter?.unchanged })
      }))
    }
    yield* runChecked(flags, env, maxBytes, {
      target,
      source,
      what: "ids",
      start: (shared) => BulkMetadata.run(source.ids, { ...shared, target, metadata })
    })
  })

const summaries: Readonly<Record<BulkTarget, string>> = {
  products: "Set metadata on products by source id (unknown ids are created: check them first)",
  customers: "Set metadata on customers by source id (unknown ids are created: check them first)",
  vouchers: "Set metadata on vouchers by code (unknown codes are reported, not created)"
}

const names: Readonly<Record<BulkTarget, string>> = {
  products: "products-metadata",
  customers: "customers-metadata",
  vouchers: "vouchers-metadata"
}

/**
 * The three commands of a kind (one a target) and their help: the metadata
 * and the per-record commands are made alike, from their names, summaries,
 * options and handler.
 */
export const commandsFor = <Config extends Command.Command.Config, E, R>(
  kind: {
    readonly names: Readonly<Record<BulkTarget, string>>
    readonly summaries: Readonly<Record<BulkTarget, string>>
    readonly options: Config
    readonly handler: (
      target: BulkTarget
    ) => (flags: Types.Simplify<Command.Command.ParseConfig<Config>>) => Effect.Effect<void, E, R>
  }
) => {
  const make = (target: BulkTarget) =>
    Command.make(kind.names[target], kind.options, kind.handler(target)).pipe(Command.withDescription(kind.summaries[target]))
  return [make("products"), make("customers"), make("vouchers")] as const
}

/** The help of each command of a kind: the fields every one has, and what `rest` says of each target. */
export const docsFor = (
  kind: { readonly names: Readonly<Record<BulkTarget, string>>; readonly summaries: Readonly<Record<BulkTarget, string>> },
  rest: (target: BulkTarget) => Omit<CommandDoc, "name" | "summary">
): ReadonlyArray<CommandDoc> =>
  (["products", "customers", "vouchers"] as const).map((target) => ({
    name: kind.names[target],
    summary: kind.summaries[target],
    ...rest(target)
  }))

export const commands = commandsFor({ names, summaries, options, handler })

/** The help of each command. */
export const docs: ReadonlyArray<CommandDoc> = docsFor({ names, summaries }, (target) => ({
  usage: [
    "--ids <path|-> --metadata <json> [options]",
    "--ids <path|-> --metadata-file <path> [options]"
  ],
  details: [
    "The ids are packed into bulk requests (chunks) as close to the size limit as they go. Credentials come from " +
    "--app-id and --app-token or their variables; --mock needs none. Exit codes: 0 every id accepted (and with " +
    "--await every record done), 1 bad input or options, 2 some ids not updated (the report says which), " +
    "3 credentials, configuration or an unreachable server, 130 interrupted."
  ],
  flags: docsOf(options),
  examples: [
    `--ids ids.txt --metadata '{"season":"summer"}' --dry-run`,
    `--ids ids.txt --metadata '{"season":"summer"}' --await --report report.json`,
    `--ids ${target === "vouchers" ? "codes.csv --column code" : "ids.csv --column source_id"} --metadata-file m.json --mock`
  ]
}))
