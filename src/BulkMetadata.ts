/**
 * The bulk engine: hands a stream of ids (an array, a file, a database
 * cursor) and one metadata object to Voucherify with as few bulk calls as the
 * 10 MB limit allows, and accounts for every id, even when things fail.
 *
 * - {@link chunk} packs ids into full request bodies (pure, no service needed).
 * - {@link lines} reads ids from one-id-per-line bytes (a file, stdin), which
 *   the functions below pack without decoding plain ids into strings.
 * - {@link updateProducts}, {@link updateCustomers}, {@link updateVouchers}
 *   pack, send concurrently and optionally await each async action, as a
 *   stream of {@link BulkChunkResult}s.
 * - {@link run} does the same and returns a {@link BulkReport}, also when the
 *   run fails or is interrupted, so that the caller can resume.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { BulkMetadata, Voucherify } from "effect-voucherify"
 *
 * const program = BulkMetadata.run(["prod_1", "prod_2"], {
 *   target: "products",
 *   metadata: { season: "summer" },
 *   awaitCompletion: true,
 *   progress: (p) => console.error(`${p.idsRead} read, ${p.chunksAccepted} accepted`)
 * }).pipe(
 *   Effect.catchTag("BulkRunError", (e) => Effect.succeed(e.report))
 * )
 *
 * program.pipe(
 *   Effect.provide(Voucherify.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici)))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import * as engine from "./internal/bulk/engine.js"
import * as bulkLines from "./internal/bulk/linePacker.js"
import * as idLines from "./internal/bulk/idLines.js"
import * as reportInternal from "./internal/bulk/report.js"
import type * as BulkJournal from "./BulkJournal.js"
import type * as Voucherify from "./Voucherify.js"
import * as VoucherifyError from "./VoucherifyError.js"
import { type AsyncAction, AsyncActionStatus, type BulkTarget, type Metadata } from "./VoucherifySchema.js"

/**
 * How {@link chunk} packs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkOptions {
  /** The metadata every id gets: a JSON object, checked once. */
  readonly metadata: Metadata
  /** The body field that names the ids: `source_ids` (products, customers, the default) or `codes` (vouchers). */
  readonly field?: "source_ids" | "codes" | undefined
  /** The largest body, in bytes. Default 10485760, Voucherify's limit; at most ten times that. */
  readonly maxBytes?: number | undefined
  /**
   * Drop ids seen before. Costs memory: every distinct id is kept in a `Set`
   * until the run ends (roughly 50 to 100 bytes an id). A dropped repeat
   * counts in the range of the chunk it stood in, so in a report it shares
   * that chunk's fate, not its first occurrence's: resuming from the
   * reported ranges still covers every id.
   */
  readonly dedupe?: boolean | undefined
}

/**
 * One request body: its ids, in input order, and the exact bytes to send.
 *
 * @since 0.1.0
 * @category models
 */
export interface BulkChunk {
  /** 0, 1, 2… in input order. */
  readonly index: number
  /** Position in the input of the chunk's first id. */
  readonly offset: number
  /**
   * How many input positions the chunk covers: `ids.length`, plus the
   * repeated ids dropped by `dedupe`. The chunks' ranges tile the input.
   */
  readonly count: number
  /**
   * The ids the body names, in input order. Decoded from `body` on first
   * use: the packer does not keep the strings, so that a run of millions of
   * ids holds only its bodies.
   */
  readonly ids: ReadonlyArray<string>
  /** How many ids the body names (`ids.length`, without decoding them). */
  readonly size: number
  /** `body.byteLength`. */
  readonly bytes: number
  /** The UTF-8 JSON body, `{"source_ids":[…],"metadata":{…}}`. */
  readonly body: Uint8Array
}

/**
 * How {@link updateProducts} and its siblings follow each async action.
 *
 * @since 0.1.0
 * @category models
 */
export interface AwaitCompletionOptions extends Voucherify.AwaitOptions {
  /** How many actions are polled at the same time. Default: the send concurrency. */
  readonly concurrency?: number | undefined
  /**
   * Read the report file of every `DONE` action and count the records it
   * `created` (not found, updated: the upsert made them), `updated` (found,
   * updated) and `notUpdated` (for vouchers: unknown codes). The ids of the
   * first and last kinds go to the callbacks as they stream. A report that
   * cannot be read (none in the result, expired, on a host that gets no
   * credentials) is named in the result and the report's `reconciliation.unread`;
   * the run goes on. Default `false`.
   */
  readonly reconcile?: boolean | ReconcileOptions | undefined
}

/**
 * Where {@link AwaitCompletionOptions.reconcile} hands the ids it finds,
 * a chunk of ids at a time (never an array of millions).
 *
 * @since 0.2.0
 * @category models
 */
export interface ReconcileOptions {
  /** Ids that did not exist and were created by the upsert: check them for typos. */
  readonly onCreated?: ((ids: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  /** Ids that were not updated (vouchers: codes that name no voucher). */
  readonly onNotUpdated?: ((ids: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
}

/**
 * What the report files of one action said, or why they could not be read.
 *
 * @since 0.2.0
 * @category models
 */
export type Reconciled =
  | { readonly created: number; readonly updated: number; readonly notUpdated: number }
  | { readonly unread: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface UpdateOptions {
  readonly metadata: Metadata
  /** Requests in flight at the same time. Default 2; results keep input order. */
  readonly concurrency?: number | undefined
  /** The largest body. Default: the configured `maxPayloadBytes` (10485760). */
  readonly maxBytes?: number | undefined
  /** See {@link ChunkOptions.dedupe}. */
  readonly dedupe?: boolean | undefined
  /**
   * Poll each accepted async action until it is `DONE` or `FAILED`. A
   * `FAILED` action is reported in its result (`status`), it does not stop
   * the run. Default `false`.
   */
  readonly awaitCompletion?: boolean | AwaitCompletionOptions | undefined
  /**
   * What a chunk that failed after the retries does: `"fail"` (default)
   * stops the run; `"continue"` reports it as a `Rejected` or `Unknown`
   * result and goes on. A 401, a 403 and a 429 of type `api_calls_cycle`
   * stop the run whatever this says: every later chunk would fail the same way.
   */
  readonly onChunkError?: "fail" | "continue" | undefined
  /**
   * The bulk quota (Voucherify's small hourly "bulk API calls"). A 429 that
   * asks for a wait (of type `bulk_api_calls`, or any limit whose wait was
   * past the client's per-request retry cap; never `api_calls_cycle`)
   * pauses the whole run: no bulk request is sent until the wait ends, then
   * the refused chunk goes again; the wait is no retry. An accepted call
   * that says `X-Rate-Limit-Remaining: 0` holds the next one until
   * `X-Rate-Limit-Retry`. `maxWait` (default 65 minutes: the window is an
   * hour) is the longest wait worth making; a longer one, or any with
   * `maxWait: 0`, stops the run with the `RateLimitError`.
   */
  readonly quota?: { readonly maxWait?: Duration.DurationInput | undefined } | undefined
  /**
   * Write every chunk's outcome to a journal as the run goes (see
   * `BulkJournal`), or resume the run it holds: a chunk the journal holds
   * as accepted with the same body hash is not sent again.
   */
  readonly journal?: JournalOptions | undefined
}

/**
 * Why a bulk run can stop: a call's error, or its journal's.
 *
 * @since 0.2.0
 * @category models
 */
export type BulkError = VoucherifyError.VoucherifyError | BulkJournal.JournalError

/**
 * A journal for {@link UpdateOptions.journal}.
 *
 * @since 0.2.0
 * @category models
 */
export interface JournalOptions {
  /** An opened journal: `BulkJournal.file(path)` (locked for the scope) or `BulkJournal.memory()`. */
  readonly journal: BulkJournal.Journal
  /**
   * Resume the run the journal holds (the same target, metadata, `maxBytes`
   * and input, else `JournalMismatchError` before anything is sent).
   * Default `false`: start a new journal, which must not exist yet.
   */
  readonly resume?: boolean | undefined
  /** What the input is, recorded and compared on resume. Default `{ kind: "stream" }`. */
  readonly input?: BulkJournal.InputDescription | undefined
}

/**
 * The API accepted the chunk and queued an async action.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkAccepted {
  readonly _tag: "Accepted"
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
  readonly asyncActionId: string
  /** With `awaitCompletion`: the action's last known status. */
  readonly status?: AsyncActionStatus | undefined
  /** With `awaitCompletion`: the action as last seen (`result` holds the counts). */
  readonly action?: AsyncAction | undefined
  /** With `awaitCompletion`: why following the action stopped early (a polling timeout…). */
  readonly awaitError?: string | undefined
  /** Not sent by this run: a resumed journal held it as accepted. */
  readonly fromJournal?: boolean | undefined
  /** With `awaitCompletion: { reconcile }`: what its report files said. */
  readonly reconciled?: Reconciled | undefined
}

/**
 * The API definitely refused the chunk: nothing of it was applied. Send its
 * ids again once the cause is fixed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkRejected {
  readonly _tag: "Rejected"
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
  readonly error: VoucherifyError.VoucherifyError
}

/**
 * The request may have reached the API before it failed (a connection reset
 * after sending, a timeout, a 500, 502 or 504): the update may or may not
 * happen. Sending the ids again is safe (metadata updates are idempotent)
 * but costs one more bulk call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkUnknown {
  readonly _tag: "Unknown"
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
  readonly error: VoucherifyError.VoucherifyError
}

/**
 * What became of one chunk.
 *
 * @since 0.1.0
 * @category models
 */
export type BulkChunkResult = ChunkAccepted | ChunkRejected | ChunkUnknown

/**
 * Counters a progress bar can show while a {@link run} goes on.
 *
 * @since 0.1.0
 * @category models
 */
export interface BulkProgress {
  /** Ids pulled from the input. */
  readonly idsRead: number
  /** Bodies built. */
  readonly chunksPacked: number
  /** Requests started (a chunk counts once, whatever its retries). */
  readonly chunksSent: number
  readonly bytesSent: number
  readonly chunksAccepted: number
  readonly idsAccepted: number
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

/**
 * Progress before anything happened: a starting value for a
 * `SubscriptionRef<BulkProgress>`.
 *
 * @since 0.1.0
 * @category constants
 */
export const emptyProgress: BulkProgress = reportInternal.emptyProgress

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions<R2 = never> extends UpdateOptions {
  readonly target: BulkTarget
  /** Receives a {@link BulkProgress} snapshot after every step (ids read, chunk sent, outcome). */
  readonly progress?: SubscriptionRef.SubscriptionRef<BulkProgress> | ((progress: BulkProgress) => void) | undefined
  /** Called once with the final report, however the run ends: success, failure or interruption. */
  readonly onReport?: ((report: BulkReport) => Effect.Effect<void, never, R2>) | undefined
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
 * Every id read is in exactly one place:
 * `accepted.ids + Σ rejected.count + Σ unknown.count + Σ notAttempted.count = totalIds`.
 * Ids from position `totalIds` on were never read from the input.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BulkReport = Schema.Struct({
  /** `completed`, or why it stopped early. */
  status: Schema.Literal("completed", "failed", "interrupted"),
  /** The message of the error that stopped the run. */
  failure: Schema.optional(Schema.String),
  /** Ids read from the input (with `dedupe`, repeated ones included). */
  totalIds: Schema.Number,
  /** Bodies built. */
  chunks: Schema.Number,
  /** Bytes of the bodies built. */
  bytes: Schema.Number,
  accepted: Schema.Struct({
    ids: Schema.Number,
    chunks: Schema.Number,
    actions: Schema.Array(Schema.Struct({
      asyncActionId: Schema.String,
      ...ChunkRange,
      status: Schema.optional(AsyncActionStatus),
      awaitError: Schema.optional(Schema.String)
    }))
  }),
  rejected: Schema.Array(Schema.Struct({ ...ChunkRange, error: VoucherifyError.VoucherifyError })),
  /** `error` is absent when the run stopped while the request was in flight. */
  unknown: Schema.Array(Schema.Struct({ ...ChunkRange, error: Schema.optional(VoucherifyError.VoucherifyError) })),
  /** Input ranges never sent: resume with these (and with the unread ids after `totalIds`). */
  notAttempted: Schema.Array(Schema.Struct({ offset: Schema.Number, count: Schema.Number })),
  /** With a journal: the chunks it held as accepted when the run began, and the requests this run sent. */
  journal: Schema.optional(Schema.Struct({ chunksHeld: Schema.Number, chunksSent: Schema.Number })),
  /** With `awaitCompletion: { reconcile }`: the report files' counts, and the actions whose report was not read. */
  reconciliation: Schema.optional(Schema.Struct({
    created: Schema.Number,
    updated: Schema.Number,
    notUpdated: Schema.Number,
    unread: Schema.Array(Schema.Struct({ asyncActionId: Schema.String, chunkIndex: Schema.Number, reason: Schema.String }))
  })),
  durationMs: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type BulkReport = typeof BulkReport.Type

/**
 * The report as JSON text and back: `Schema.encodeSync(BulkMetadata.BulkReportFromJson)(report)`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BulkReportFromJson: Schema.Schema<BulkReport, string> = Schema.parseJson(BulkReport, { space: 2 })

/**
 * A {@link run} that stopped early on an error: `error` is what stopped it
 * (an input error, an invalid id, a 401…), `report` what was done until then.
 *
 * @since 0.1.0
 * @category errors
 */
export class BulkRunError<out E = never> extends Data.TaggedError("BulkRunError")<{
  readonly report: BulkReport
  readonly error: E | BulkError
}> {
  override get message(): string {
    const r = this.report
    const cause = this.error instanceof Error ? this.error.message : String(this.error)
    return `bulk run stopped after ${r.accepted.ids} of ${r.totalIds} ids were accepted: ${cause}`
  }
}

/**
 * Packs ids into request bodies: greedily, in input order, each body at
 * most `maxBytes` and each but the last full (the next id would not have
 * fitted). An empty id, a non-string, an id with a control character
 * (U+0000 to U+001F, U+007F to U+009F: the rule every input of ids follows),
 * or an id too large to fit alone fails with `InvalidRequestError` carrying
 * its `offset`, before any later body is emitted; metadata that leaves no
 * room fails at once.
 *
 * Bodies are built one at a time, when the consumer pulls.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { BulkMetadata } from "effect-voucherify"
 *
 * const bodies = Stream.make("prod_1", "prod_2").pipe(
 *   BulkMetadata.chunk({ metadata: { season: "summer" } })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const chunk: {
  (options: ChunkOptions): <E, R>(
    self: Stream.Stream<string, E, R>
  ) => Stream.Stream<BulkChunk, E | VoucherifyError.InvalidRequestError, R>
  <E, R>(
    self: Stream.Stream<string, E, R>,
    options: ChunkOptions
  ): Stream.Stream<BulkChunk, E | VoucherifyError.InvalidRequestError, R>
} = dual(2, bulkLines.chunk)

/**
 * A line of a {@link lines} input that is not a usable id: it has leading or
 * trailing whitespace, bytes that are not UTF-8, or a control character;
 * packed from its bytes, it is longer than any body can hold. `line` counts
 * from 1, blank lines included; the message reads `line 7: …`.
 *
 * @since 0.1.0
 * @category errors
 */
export const IdLineError: typeof idLines.IdLineError = idLines.IdLineError

/**
 * @since 0.1.0
 * @category errors
 */
export type IdLineError = idLines.IdLineError

/**
 * The ids of UTF-8 text with one id per line (a file, stdin, a socket), as it
 * is read: blank lines and a final line break are skipped, LF and CRLF both
 * end a line, and a BOM at the start is dropped. A line with leading or
 * trailing whitespace (an id with a stray space would upsert a new product),
 * with bytes that are not UTF-8, or with a control character (a tab: the file
 * looks delimited; a CR without LF: its line ends are CR only) fails the
 * stream with an {@link IdLineError} naming the line, after the ids before it.
 *
 * It is a stream of ids like any other. Handed as it is to {@link chunk},
 * {@link run} or {@link updateProducts} and its siblings, it is packed from
 * its bytes: an id of printable ASCII (without `"` or `\`) is copied from
 * the read buffer into the body without becoming a string; any other id is
 * decoded and escaped. Both give exactly the bodies of the decoded ids. A
 * line too large for any body is then an {@link IdLineError}, raised as soon
 * as it runs past what the limit leaves for an id: it is neither held nor
 * read to its end. Another stream operator in between gives those functions
 * the decoded ids (a line is then held up to the largest body there is, and
 * the packer refuses an id too large with `InvalidRequestError`).
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { BulkMetadata } from "effect-voucherify"
 *
 * // in a program: FileSystem's fs.stream("ids.txt"), or NodeStream.stdin
 * const bytes = Stream.make(new TextEncoder().encode("prod_1\r\nprod_2\n\nprod_3\n"))
 *
 * const bodies = BulkMetadata.lines(bytes).pipe(BulkMetadata.chunk({ metadata: { season: "summer" } }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const lines: <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<string, E | IdLineError, R> =
  idLines.lines

/**
 * The signature shared by {@link updateProducts} and its siblings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Update {
  // one generic signature, so that `pipe` infers E and R (never for an Iterable)
  (options: UpdateOptions): <E = never, R = never>(
    self: Stream.Stream<string, E, R> | Iterable<string>
  ) => Stream.Stream<BulkChunkResult, E | BulkError, R | Voucherify.Voucherify>
  <E, R>(
    self: Stream.Stream<string, E, R>,
    options: UpdateOptions
  ): Stream.Stream<BulkChunkResult, E | BulkError, R | Voucherify.Voucherify>
  (
    self: Iterable<string>,
    options: UpdateOptions
  ): Stream.Stream<BulkChunkResult, BulkError, Voucherify.Voucherify>
}

/**
 * Sets the metadata of every product named (unknown source ids are
 * created: upsert) with full bulk requests, `concurrency` at a time.
 * At most `concurrency + 1` bodies exist at any moment.
 *
 * @since 0.1.0
 * @category combinators
 */
export const updateProducts: Update = dual(2, engine.update("products"))

/**
 * Like {@link updateProducts}, for customers (upsert too).
 *
 * @since 0.1.0
 * @category combinators
 */
export const updateCustomers: Update = dual(2, engine.update("customers"))

/**
 * Like {@link updateProducts}, for vouchers named by their codes; unknown
 * codes are not created.
 *
 * @since 0.1.0
 * @category combinators
 */
export const updateVouchers: Update = dual(2, engine.update("vouchers"))

/**
 * Folds a result stream into a {@link BulkReport} (`notAttempted` stays
 * empty: a stream that fails has no report; use {@link run} for that).
 *
 * @since 0.1.0
 * @category sinks
 */
export const reportSink: Sink.Sink<BulkReport, BulkChunkResult> = reportInternal.reportSink

/**
 * Updates every id and returns the {@link BulkReport}. When the run stops
 * early it fails with {@link BulkRunError}, which holds the report; when it
 * is interrupted, `onReport` still receives the report. `dual`:
 * `ids.pipe(BulkMetadata.run(options))` or `BulkMetadata.run(ids, options)`.
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  // one generic signature, so that `pipe` infers E and R (never for an Iterable)
  <R2 = never>(options: RunOptions<R2>): <E = never, R = never>(
    self: Stream.Stream<string, E, R> | Iterable<string>
  ) => Effect.Effect<BulkReport, BulkRunError<E>, R | R2 | Voucherify.Voucherify>
  <E, R, R2 = never>(
    self: Stream.Stream<string, E, R>,
    options: RunOptions<R2>
  ): Effect.Effect<BulkReport, BulkRunError<E>, R | R2 | Voucherify.Voucherify>
  <R2 = never>(
    self: Iterable<string>,
    options: RunOptions<R2>
  ): Effect.Effect<BulkReport, BulkRunError, R2 | Voucherify.Voucherify>
} = dual(2, <E, R, R2>(
  self: Stream.Stream<string, E, R> | Iterable<string>,
  options: RunOptions<R2>
): Effect.Effect<BulkReport, BulkRunError<E>, R | R2 | Voucherify.Voucherify> =>
  Effect.mapError(engine.run(self, options), (stopped) => new BulkRunError<E>(stopped)))
