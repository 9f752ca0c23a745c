/**
 * A real bulk run from the command line: progress while it goes, the report
 * written however it ends (Ctrl-C included), the summary table, and the
 * failure that sets the exit code.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as BulkMetadata from "../BulkMetadata.js"
import type * as Voucherify from "../Voucherify.js"
import type { BulkTarget } from "../VoucherifySchema.js"
import { type InputError, PartialFailure } from "./CliError.js"
import { printCause } from "./ErrorOutput.js"
import * as IdInput from "./IdInput.js"
import type { Metadata } from "./Metadata.js"
import * as Progress from "./Progress.js"
import * as RecordCounts from "./RecordCounts.js"
import * as Report from "./Report.js"
import * as Summary from "./Summary.js"

export interface BulkRunOptions {
  readonly target: BulkTarget
  readonly source: IdInput.IdSource
  readonly metadata: Metadata
  readonly concurrency: number
  /** Checked against the configured limit by the command. */
  readonly maxBytes: number
  readonly awaitCompletion: boolean
  readonly continueOnError: boolean
  readonly reportPath: Option.Option<string>
  readonly progress: Progress.ProgressMode
}

export const run = (
  options: BulkRunOptions
): Effect.Effect<
  void,
  BulkMetadata.BulkRunError<InputError> | InputError | PartialFailure,
  Voucherify.Voucherify | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const maxBytes = options.maxBytes
    const writeReport = (report: BulkMetadata.BulkReport) =>
      Option.match(options.reportPath, {
        onNone: () => Effect.void,
        onSome: (path) => Effect.zipRight(Report.write(path, report), Console.error(`report written to ${path}`))
      })
    const showSummary = (report: BulkMetadata.BulkReport, records?: RecordCounts.RecordCounts) =>
      Console.log(Summary.table(report, { maxBytes, awaited: options.awaitCompletion, records }))

    let latest = Progress.emptySnapshot
    let last: BulkMetadata.BulkReport | undefined
    const ran = yield* Effect.scoped(Effect.zipRight(
      Progress.render({
        mode: options.progress,
        snapshot: () => latest,
        fraction: () => options.source.fraction(),
        awaiting: options.awaitCompletion
      }),
      BulkMetadata.run(options.source.ids, {
        target: options.target,
        metadata: options.metadata,
        concurrency: options.concurrency,
        maxBytes,
        awaitCompletion: options.awaitCompletion,
        onChunkError: options.continueOnError ? "continue" : "fail",
        progress: (progress) => {
          latest = progress
        },
        onReport: (report) => Effect.sync(() => (last = report))
      })
    )).pipe(
      // Ctrl-C: the engine has stopped sending and settled its accounts; keep them.
      Effect.onInterrupt(() =>
        Effect.gen(function*() {
          if (last === undefined) return
          yield* showSummary(last)
          yield* writeReport(last).pipe(Effect.catchAllCause(printCause))
          yield* Console.error("interrupted: the report accounts for every id read so far")
        })
      ),
      Effect.either
    )
    // A bad line names the input; an input without a single id is refused, as a failed run.
    const describe = IdInput.describe(options.source)
    const outcome = Either.isRight(ran) && ran.right.totalIds === 0
      ? Either.left(
        new BulkMetadata.BulkRunError({
          report: { ...ran.right, status: "failed", failure: IdInput.noIds(options.source).message },
          error: IdInput.noIds(options.source)
        })
      )
      : Either.mapLeft(ran, (stopped) => {
        const error = describe(stopped.error)
        const report = error === stopped.error ? stopped.report : { ...stopped.report, failure: error.message }
        return new BulkMetadata.BulkRunError({ report, error })
      })
    const report = Either.isRight(outcome) ? outcome.right : outcome.left.report
    // The report first, whole: a Ctrl-C while the record counts are fetched must not lose it.
    const written = yield* Effect.uninterruptible(Effect.either(writeReport(report)))
    const records = options.awaitCompletion ? yield* RecordCounts.fetch(report) : undefined
    yield* showSummary(report, records)
    if (Either.isLeft(outcome)) {
      // The run's own failure sets the exit code; a report that could not be written is still said.
      if (Either.isLeft(written)) yield* Console.error(`error: ${written.left.message}`)
      // Input that failed before a single id was read: its own message says it all.
      const { error } = outcome.left
      if (report.totalIds === 0 && error._tag === "InputError") return yield* error
      return yield* outcome.left
    }
    if (Either.isLeft(written)) return yield* written.left
    if (!Summary.isComplete(report, options.awaitCompletion, records)) {
      const details = records !== undefined && records.failed > 0
        ? `${records.failed} records were not updated; each action lists them: effect-voucherify async-action get <id>`
        : Option.match(options.reportPath, {
          onNone: () => "not every id was updated; rerun with --report <path> to get the details",
          onSome: (path) => `not every id was updated: see ${path}`
        })
      return yield* new PartialFailure({ message: details })
    }
  })
