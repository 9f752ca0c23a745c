/**
 * What every bulk run shares, whichever wing started it (`BulkMetadata.run`
 * over ids, `BulkRecords.run` over records): the options of the engine, the
 * progress it tells, the {@link Report} that accounts for every item read,
 * and the {@link BulkRunError} that carries the report when a run stops
 * early. A report counts in its `unit`: ids for a metadata run, records for
 * a per-record run.
 *
 * @since 0.4.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type * as BulkJournal from "./BulkJournal.js"
import type * as SyncState from "./SyncState.js"
import type * as Voucherify from "./Voucherify.js"
import * as VoucherifyError from "./VoucherifyError.js"
import { AsyncActionStatus } from "./VoucherifySchema.js"

/**
 * How a run follows each accepted async action.
 *
 * @since 0.4.0
 * @category models
 */
export interface AwaitOptions extends Voucherify.AwaitOptions {
  /** How many actions are polled at the same time. Default: the send concurrency. */
  readonly concurrency?: number | undefined
  /**
   * Read the report file of every `DONE` action to count the records it
   * created and updated, even without `onCreated` or `onNotUpdated` (which
   * read them anyway). Default `false`.
   */
  readonly reconcile?: boolean | undefined
}

/**
 * The options both wings take, beside their own (`target`, and the
 * metadata of a metadata run).
 *
 * @since 0.4.0
 * @category models
 */
export interface Options<R2 = never> {
  /** Requests in flight at the same time. Default 2. At most `concurrency + 1` bodies exist at any moment. */
  readonly concurrency?: number | undefined
  /** The largest body. Default: the configured `maxPayloadBytes` (10485760), and never above it. */
  readonly maxBytes?: number | undefined
  /**
   * Poll each accepted async action until it is `DONE` or `FAILED` (`true`,
   * or how). A `FAILED` action is reported, it does not stop the run.
   * Default `false`, unless `onCreated` or `onNotUpdated` is given.
   */
  readonly await?: boolean | AwaitOptions | undefined
  /**
   * Ids that did not exist and were created by the upsert (check them for
   * typos), a chunk of ids at a time, read from the report file of each
   * `DONE` action. Giving it awaits the actions.
   */
  readonly onCreated?: ((ids: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  /** Ids that were not updated (vouchers: codes that name no voucher). Giving it awaits the actions. */
  readonly onNotUpdated?: ((ids: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  /**
   * What a chunk that failed after the retries does: `"fail"` (default)
   * stops the run; `"continue"` reports it as rejected or unknown and goes
   * on. A 401, a 403 and a 429 of type `api_calls_cycle` stop the run
   * whatever this says: every later chunk would fail the same way.
   */
  readonly onChunkError?: "fail" | "continue" | undefined
  /**
   * The longest wait for the bulk quota (Voucherify's small hourly "bulk API
   * calls") worth making. A refusal for the quota pauses the whole run until
   * the window allows again, then the refused chunk goes again. A longer
   * wait, or any with `0`, stops the run with the `RateLimitError`.
   * Default 65 minutes (the window is an hour).
   */
  readonly maxQuotaWait?: Duration.DurationInput | undefined
  /**
   * Write every chunk's outcome to this journal as the run goes:
   * `BulkJournal.file(path)` (locked for its scope) or `BulkJournal.memory()`.
   */
  readonly journal?: BulkJournal.Journal | undefined
  /**
   * What the input is, as the journal records it and a resume checks it (a
   * file by its path, size and modification time). Default `{ kind: "stream" }`.
   */
  readonly source?: BulkJournal.InputDescription | undefined
  /**
   * Resume the run the journal holds: a chunk it holds as accepted with the
   * same body hash is not sent again. The target, metadata, `maxBytes` and
   * input must be the journal's, else `JournalMismatchError` before anything
   * is sent. Default `false`: the journal must not exist yet.
   */
  readonly resume?: boolean | undefined
  /**
   * Receives {@link Progress} snapshots. A function is called at once when a
   * chunk's outcome is known (accepted, refused, its action awaited) or a
   * quota wait starts, and for the other steps (items read, a chunk packed
   * or sent) at most once a second; the last state always: a `console.log`
   * in it prints a line per chunk and about one a second. A
   * `SubscriptionRef` is set at every step, for a display that samples it.
   */
  readonly onProgress?: SubscriptionRef.SubscriptionRef<Progress> | ((progress: Progress) => void) | undefined
  /**
   * A sync state (`SyncState`): an item whose content the state holds as
   * confirmed by Voucherify is not sent (the report counts it `unchanged`),
   * and an item becomes confirmed once its action is `DONE` and its report
   * file calls it updated. Implies `await` with the report files read; not
   * with `resume` (a run with a state sends only what it has not confirmed:
   * run it again).
   */
  readonly state?: SyncState.Service | undefined
  /**
   * With `state`: an item confirmed longer ago than this is sent again, for
   * edits made in Voucherify's dashboard since. Default: confirmations do
   * not age.
   */
  readonly stateMaxAge?: Duration.DurationInput | undefined
  /** Called once with the final report, however the run ends: success, failure or interruption. */
  readonly onReport?: ((report: Report) => Effect.Effect<void, never, R2>) | undefined
}

/**
 * Counters a progress bar can show while a run goes on. Items are ids or
 * records, as the run's unit says.
 *
 * @since 0.4.0
 * @category models
 */
export interface Progress {
  /** What the counts count: `ids` (a metadata run) or `records` (a per-record run). */
  readonly unit: "ids" | "records"
  /** Items pulled from the input (with a state, the unchanged ones included). */
  readonly itemsRead: number
  /** With a state: items not sent, because the state holds them as confirmed. */
  readonly itemsUnchanged: number
  /** Bodies built. */
  readonly chunksPacked: number
  /** Requests started (a chunk counts once, whatever its retries). */
  readonly chunksSent: number
  readonly bytesSent: number
  readonly chunksAccepted: number
  readonly itemsAccepted: number
  readonly chunksRejected: number
  readonly chunksUnknown: number
  /** Awaited actions that reached `DONE` or `FAILED`. */
  readonly actionsCompleted: number
  /** Awaited actions that ended `FAILED`. */
  readonly actionsFailed: number
  /** Bulk calls refused for the quota (each chunk goes again after the wait). */
  readonly quotaRefusals: number
  /** Chunks a resumed journal held as accepted: counted accepted, not sent again. */
  readonly chunksFromJournal: number
  /** While the run waits for the bulk quota: when it may send again (epoch milliseconds). */
  readonly waitingForQuotaUntil?: number | undefined
}

const ChunkRange = {
  chunkIndex: Schema.Number,
  offset: Schema.Number,
  count: Schema.Number
}

/**
 * The accounting of a run, as a schema: encode it to write it as JSON (the
 * errors are encoded with the `VoucherifyError` union and hold no secret).
 *
 * Every item read is in exactly one place:
 * `accepted.items + Σ rejected.count + Σ unknown.count + Σ notAttempted.count + (unchanged ?? 0) = total`.
 * Items from position `total` on were never read from the input.
 *
 * With a state, the unchanged items are not sent and have no place in a
 * body: the ranges (`offset`, `count`) number the items the state let
 * through, in input order.
 *
 * @since 0.4.0
 * @category schemas
 */
export const Report = Schema.Struct({
  /** `completed`, or why it stopped early. */
  status: Schema.Literal("completed", "failed", "interrupted"),
  /** The message of the error that stopped the run. */
  failure: Schema.optional(Schema.String),
  /** What the counts count: ids or records. */
  unit: Schema.Literal("ids", "records"),
  /** Items read from the input (with `dedupe`, repeated ids included). */
  total: Schema.Number,
  /** With a state: items not sent because the state holds them as confirmed. */
  unchanged: Schema.optional(Schema.Number),
  /** Bodies built. */
  chunks: Schema.Number,
  /** Bytes of the bodies built. */
  bytes: Schema.Number,
  accepted: Schema.Struct({
    items: Schema.Number,
    chunks: Schema.Number,
    actions: Schema.Array(Schema.Struct({
      asyncActionId: Schema.String,
      ...ChunkRange,
      status: Schema.optional(AsyncActionStatus),
      /** When awaited: the records the action updated and failed, from its result. */
      done: Schema.optional(Schema.Number),
      failed: Schema.optional(Schema.Number),
      awaitError: Schema.optional(Schema.String)
    }))
  }),
  rejected: Schema.Array(Schema.Struct({ ...ChunkRange, error: VoucherifyError.VoucherifyError })),
  /** `error` is absent when the run stopped while the request was in flight. */
  unknown: Schema.Array(Schema.Struct({ ...ChunkRange, error: Schema.optional(VoucherifyError.VoucherifyError) })),
  /** Input ranges never sent: resume with these (and with the unread items after `total`). */
  notAttempted: Schema.Array(Schema.Struct({ offset: Schema.Number, count: Schema.Number })),
  /** With a journal: the chunks it held as accepted when the run began, and the requests this run sent. */
  journal: Schema.optional(Schema.Struct({ chunksHeld: Schema.Number, chunksSent: Schema.Number })),
  /** When the report files were read (`onCreated`, `onNotUpdated` or `await: { reconcile: true }`): the report files' counts, and the actions whose report was not read. */
  reconciliation: Schema.optional(Schema.Struct({
    created: Schema.Number,
    updated: Schema.Number,
    notUpdated: Schema.Number,
    unread: Schema.Array(Schema.Struct({ asyncActionId: Schema.String, chunkIndex: Schema.Number, reason: Schema.String }))
  })),
  durationMs: Schema.Number
})

/**
 * @since 0.4.0
 * @category models
 */
export type Report = typeof Report.Type

/**
 * The report as JSON text and back: `Schema.encodeSync(BulkRun.ReportFromJson)(report)`.
 *
 * @since 0.4.0
 * @category schemas
 */
export const ReportFromJson: Schema.Schema<Report, string> = Schema.parseJson(Report, { space: 2 })

/**
 * Marks a {@link BulkRunError}, so that {@link isBulkRunError} needs no tag.
 *
 * @since 0.4.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-voucherify/BulkRunError")

/**
 * A run that stopped early on an error: `error` is what stopped it (an
 * input error, an invalid id or record, a 401, a journal's error…),
 * `report` what was done until then.
 *
 * @since 0.4.0
 * @category errors
 */
export class BulkRunError<out E = never> extends Data.TaggedError("BulkRunError")<{
  readonly report: Report
  readonly error: E | VoucherifyError.VoucherifyError | BulkJournal.JournalError | SyncState.SyncStateError
}> {
  /** @since 0.4.0 */
  readonly [TypeId]: typeof TypeId = TypeId

  constructor(
    props: {
      readonly report: Report
      readonly error: E | VoucherifyError.VoucherifyError | BulkJournal.JournalError | SyncState.SyncStateError
    }
  ) {
    super(props)
    // the engine's frames tell a caller nothing the message and the report do not: a rejection, a
    // log or Cause.pretty shows the message line (and Effect's span trace), not a stack trace
    Object.defineProperty(this, "stack", { value: `${this.name}: ${this.message}`, writable: true, configurable: true })
  }

  override get message(): string {
    const { accepted, total, unit } = this.report
    const cause = this.error instanceof Error ? this.error.message : String(this.error)
    // nothing accepted: the cause alone says what happened ("0 of 0" would not)
    return accepted.items === 0 ? cause : `bulk run stopped after ${accepted.items} of ${total} ${unit} were accepted: ${cause}`
  }
}

/**
 * @since 0.4.0
 * @category refinements
 */
export const isBulkRunError = (u: unknown): u is BulkRunError<unknown> => Predicate.hasProperty(u, TypeId)
