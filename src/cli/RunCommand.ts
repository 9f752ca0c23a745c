/**
 * A real bulk run from the command line: progress while it goes, the report
 * written however it ends (Ctrl-C included), the summary table, and the
 * failure that sets the exit code.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as BulkJournal from "../BulkJournal.js"
import * as BulkMetadata from "../BulkMetadata.js"
import * as BulkRun from "../BulkRun.js"
import type * as BulkRecords from "../BulkRecords.js"
import type * as Voucherify from "../Voucherify.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import type { TransportError } from "../VoucherifyError.js"
import type { BulkTarget } from "../VoucherifySchema.js"
import { ConfigurationError, type InputChangedError, InputError, PartialFailure } from "./CliError.js"
import { fileProblem, printCause } from "./ErrorOutput.js"
import { counted, type Item } from "./Format.js"
import * as IdInput from "./IdInput.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as State from "./State.js"
import * as Summary from "./Summary.js"

/** The options every kind of run takes from the command line: all but the target and what each record gets. */
export type SharedRunOptions = Omit<BulkRecords.RunOptions<BulkTarget, never>, "target">

export interface RunOptions {
  readonly target: BulkTarget
  /** The input: its name, how much of it was read, and what a journal records of it. */
  readonly source: IdInput.IdSource | IdInput.ByteSource
  /** What the input holds, for a message about an empty one: ids, or records. */
  readonly what: "ids" | "records"
  /** Starts the run: `BulkMetadata.run` over the ids, or `BulkRecords.run` over the records. */
  readonly start: (
    options: SharedRunOptions
  ) => Effect.Effect<
    BulkRun.Report,
    BulkRun.BulkRunError<InputError | InputChangedError | BulkMetadata.IdLineError | BulkRecords.RecordError>,
    Voucherify.Voucherify
  >
  readonly concurrency: number
  /** Checked against the configured limit by the command. */
  readonly maxBytes: number
  readonly awaitCompletion: boolean
  /** `--await-timeout`: how long each action is followed; the library's 10 minutes without it. */
  readonly awaitTimeout?: Duration.Duration | undefined
  readonly continueOnError: boolean
  readonly reportPath: Option.Option<string>
  readonly progress: Progress.ProgressMode
  /** The longest bulk-quota wait worth making; 0 stops at the first. */
  readonly maxQuotaWait: Duration.Duration
  /** `--journal`, and whether to `--resume` from it. */
  readonly journal: Option.Option<{ readonly path: string; readonly resume: boolean }>
  /** `--created-ids` and `--failed-ids`: where the reconciled ids go, one per line. */
  readonly createdIds: Option.Option<string>
  readonly failedIds: Option.Option<string>
  /** `--state` and `--state-max-age`. */
  readonly state: Option.Option<{ readonly path: string; readonly maxAge: Duration.Duration | undefined }>
}

/**
 * A file the reconciled ids go into as they stream, one a line; a write
 * that fails is kept, and said after the run, rather than stopping it. A
 * resumed run appends: the ids the earlier runs found stay.
 */
const idsFile = (path: Option.Option<string>, append: boolean) =>
  Effect.gen(function*() {
    if (Option.isNone(path)) return undefined
    const fs = yield* FileSystem.FileSystem
    const file = yield* fs.open(path.value, { flag: append ? "a" : "w" }).pipe(
      Effect.mapError((error) => new InputError({ message: `cannot write ${path.value}: ${fileProblem(error)}` }))
    )
    let failure: InputError | undefined
    const encoder = new TextEncoder()
    return {
      path: path.value,
      write: (ids: ReadonlyArray<string>) =>
        failure !== undefined || ids.length === 0 ? Effect.void : file.writeAll(encoder.encode(`${ids.join("\n")}\n`)).pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => {
              failure = new InputError({ message: `cannot write ${path.value}: ${fileProblem(error)}` })
            })
          )
        ),
      failure: () => failure
    }
  })

/**
 * When nothing got through because no connection could ever be made, the
 * error that says so: the base URL or the network is wrong, not the ids.
 */
const neverReached = (report: BulkRun.Report): TransportError | undefined => {
  if (report.accepted.items > 0 || report.unknown.length > 0 || report.rejected.length === 0) return undefined
  const connects = report.rejected.map((r) => r.error).filter((e): e is TransportError =>
    e._tag === "TransportError" && e.reason === "Connect"
  )
  return connects.length === report.rejected.length ? connects[0] : undefined
}

const cannotReach = (error: TransportError) =>
  Effect.flatMap(VoucherifyConfig.VoucherifyConfig, ({ baseUrl }) =>
    Effect.fail(
      new ConfigurationError({
        // the platform's words without the request line: `connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)`
        message: `cannot reach ${baseUrl}: ${error.description.replace(/^[A-Z]+ \S+: /, "")}`,
        hint: "check --base-url/VOUCHERIFY_BASE_URL (or --cluster) and the network"
      })
    ))

/**
 * Whether no request reached Voucherify: nothing accepted, nothing that may
 * have arrived, and no refusal but for connections never made. Such a run
 * gets no summary table, only its error.
 */
const nothingReached = (report: BulkRun.Report): boolean =>
  report.accepted.items === 0 && report.unknown.length === 0 &&
  (report.rejected.length === 0 || neverReached(report) !== undefined)

/**
 * The share of the ids accepted, for the bar: the ids read so far over the
 * share of the file read gives the file's count (exact once it is read to
 * its end; the packer reads a few bodies ahead of the network). Unknown
 * for stdin.
 */
export const acceptedShare = (s: Progress.ProgressSnapshot, read: number | undefined): number | undefined => {
  if (read === undefined) return undefined
  if (read <= 0 || s.itemsRead === 0) return 0
  // with a state, the unchanged items are done too
  return Math.min(1, (s.itemsAccepted + s.itemsUnchanged) / (s.itemsRead / read))
}

/** The accepted actions that `--await` did not see end (a timeout, polls that failed). */
const unfinished = (report: BulkRun.Report) =>
  report.accepted.actions.filter((action) => action.status !== "DONE" && action.status !== "FAILED")

/**
 * What to do about actions not followed to their end. Their chunks were
 * accepted: sending them again is not the way. Follow the actions by id, or
 * resume the journal, which sends only what it does not hold as accepted.
 */
export const followAdvice = (
  actions: ReadonlyArray<BulkRun.Report["accepted"]["actions"][number]>,
  options: Pick<RunOptions, "journal" | "reportPath" | "what">
): PartialFailure => {
  const why = actions.find((action) => action.awaitError !== undefined)?.awaitError
  const ids = actions.map((action) => action.asyncActionId).join(" ")
  const resume = Option.match(options.journal, {
    onNone: () => "",
    onSome: ({ path }) => `, or resume the run with --journal ${path} --resume (it sends nothing the journal holds as accepted)`
  })
  const listed = Option.match(options.reportPath, {
    onNone: () => "",
    onSome: (path) => `; ${path} lists them under accepted.actions`
  })
  return new PartialFailure({
    message: `${counted(actions.length, "accepted action")} ${actions.length === 1 ? "was" : "were"} not followed to the end${
      why === undefined ? "" : ` (${why})`
    }`,
    hint: `their ${options.what} were accepted, so do not send them again: follow the actions with ` +
      `effect-voucherify async-action await ${ids} [--await-timeout <duration>]${resume}${listed}`
  })
}

export const run = (
  options: RunOptions
): Effect.Effect<
  void,
  BulkRun.BulkRunError<InputError | InputChangedError> | InputError | PartialFailure | ConfigurationError | BulkJournal.JournalError,
  Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig | FileSystem.FileSystem
> =>
  Effect.scoped(Effect.gen(function*() {
    const maxBytes = options.maxBytes
    const writeReport = (report: BulkRun.Report) =>
      Option.match(options.reportPath, {
        onNone: () => Effect.void,
        onSome: (path) => Effect.zipRight(Report.write(path, report), Console.error(`report written to ${path}`))
      })
    const item: Item = options.what === "ids" ? "id" : "record"
    const showSummary = (report: BulkRun.Report, records?: Summary.RecordCounts) =>
      Console.log(Summary.table(report, {
        maxBytes,
        awaited: options.awaitCompletion,
        records,
        item,
        createdIdsPath: Option.getOrUndefined(options.createdIds),
        failedIdsPath: Option.getOrUndefined(options.failedIds),
        reportPath: Option.getOrUndefined(options.reportPath)
      }))

    let latest = Progress.emptySnapshot
    let last: BulkRun.Report | undefined
    // the journal is locked while the run uses it, and opened before anything is sent or written:
    // a second process refused its lock must not empty the first one's files
    const journal = yield* Option.match(options.journal, {
      onNone: () => Effect.succeed(undefined),
      onSome: ({ path }) => BulkJournal.file(path)
    })
    const resuming = Option.exists(options.journal, ({ resume }) => resume)
    // the state is locked and checked before anything is sent
    const state = Option.isNone(options.state) ? undefined : yield* State.open(options.state.value.path, { readOnly: false })
    const stateMaxAge = Option.isNone(options.state) ? undefined : options.state.value.maxAge
    const created = yield* idsFile(options.createdIds, resuming)
    const failed = yield* idsFile(options.failedIds, resuming)
    // the progress output has its own scope: it draws its last line before the summary
    const ran = yield* Effect.scoped(Effect.flatMap(
      Progress.render({
        mode: options.progress,
        snapshot: () => latest,
        fraction: (s) => acceptedShare(s, options.source.fraction()),
        awaiting: options.awaitCompletion,
        item
      }),
      (changed) => options.start({
        concurrency: options.concurrency,
        maxBytes,
        // with --await, the report files say which records were created and which were not updated
        await: options.awaitCompletion && {
          reconcile: true,
          ...(options.awaitTimeout !== undefined ? { timeout: options.awaitTimeout } : {})
        },
        ...(options.awaitCompletion && created !== undefined ? { onCreated: created.write } : {}),
        ...(options.awaitCompletion && failed !== undefined ? { onNotUpdated: failed.write } : {}),
        onChunkError: options.continueOnError ? "continue" : "fail",
        maxQuotaWait: options.maxQuotaWait,
        ...(journal !== undefined ? { journal, resume: resuming } : {}),
        ...(state !== undefined ? { state } : {}),
        ...(stateMaxAge !== undefined ? { stateMaxAge } : {}),
        source: options.source.description,
        onProgress: (progress) => {
          latest = progress
          changed()
        },
        onReport: (report) => Effect.sync(() => (last = report))
      })
    )).pipe(
      // Ctrl-C, SIGTERM, SIGHUP: the engine has stopped sending and settled its accounts; keep them.
      // The report first: after a SIGHUP the terminal may be gone, and what is printed with it.
      Effect.onInterrupt(() =>
        Effect.gen(function*() {
          if (last === undefined) return
          yield* writeReport(last).pipe(Effect.catchAllCause(printCause))
          yield* showSummary(last)
          yield* Console.error(`interrupted: the report accounts for every ${item} read so far`)
        })
      ),
      Effect.either
    )
    // A bad line names the input; an input without a single id is refused, as a failed run.
    const describe = IdInput.describe(options.source)
    const empty = IdInput.noIds(options.source, options.what)
    const outcome = Either.isRight(ran) && ran.right.total === 0
      ? Either.left(
        new BulkRun.BulkRunError({ report: { ...ran.right, status: "failed", failure: empty.message }, error: empty })
      )
      : Either.mapLeft(ran, (stopped) => {
        const error = describe(stopped.error)
        const report = error === stopped.error ? stopped.report : { ...stopped.report, failure: error.message }
        return new BulkRun.BulkRunError({ report, error })
      })
    const report = Either.isRight(outcome) ? outcome.right : outcome.left.report
    const written = yield* Effect.uninterruptible(Effect.either(writeReport(report)))
    const records = options.awaitCompletion ? Summary.recordCounts(report) : undefined
    // a run whose every item the state held unchanged sent nothing, and did all it had to
    if (!nothingReached(report) || (report.unchanged ?? 0) > 0) yield* showSummary(report, records)
    if (Either.isLeft(outcome)) {
      // The run's own failure sets the exit code; a report that could not be written is still said.
      if (Either.isLeft(written)) yield* printCause(Cause.fail(written.left))
      // Input that failed before a single id was read: its own message says it all.
      const { error } = outcome.left
      if (report.total === 0 && error._tag === "InputError") return yield* error
      const unreachable = neverReached(report)
      if (unreachable !== undefined) return yield* cannotReach(unreachable)
      return yield* outcome.left
    }
    // --continue-on-error: the run went on, and every request failed to connect all the same
    const unreachable = neverReached(report)
    if (unreachable !== undefined) return yield* cannotReach(unreachable)
    if (Either.isLeft(written)) return yield* written.left
    const unwritten = created?.failure() ?? failed?.failure()
    if (unwritten !== undefined) return yield* unwritten
    const unread = report.reconciliation?.unread.length ?? 0
    if (unread > 0) {
      return yield* new PartialFailure({
        message: `${counted(unread, "report file")} ${unread === 1 ? "was" : "were"} not read, so the created and not-updated ids are not all known`,
        hint: `the "report not read" ${unread === 1 ? "line says" : "lines say"} why`
      })
    }
    const unfollowed = options.awaitCompletion ? unfinished(report) : []
    if (unfollowed.length > 0) return yield* followAdvice(unfollowed, options)
    if (!Summary.isComplete(report, options.awaitCompletion, records)) {
      if (records !== undefined && records.failed > 0) {
        return yield* new PartialFailure({
          message: `${counted(records.failed, "record")} ${records.failed === 1 ? "was" : "were"} not updated`,
          hint: Option.match(options.failedIds, {
            onNone: () => "each action lists them: effect-voucherify async-action get <id>, or use --failed-ids <path> next time",
            onSome: (path) => `${path} lists them`
          })
        })
      }
      return yield* new PartialFailure({
        // every one accepted, and an action FAILED or did not say what it did
        message: `not every ${item} was ${report.accepted.items === report.total ? "updated" : "accepted"}`,
        hint: Option.match(options.reportPath, {
          // not "rerun": a plain rerun sends the accepted ones again
          onNone: () =>
            `next time, --report <path> names the ranges of ${options.what} that were not, ` +
            "and --journal <path> lets --resume send only those",
          onSome: (path) => `${path} names the ranges of ${options.what} that were not`
        })
      })
    }
  }))
