/**
 * The bulk engine: hands ids (an array, a stream, a file) and one metadata
 * object to Voucherify with as few bulk calls as the 10 MB limit allows, and
 * accounts for every id, even when things fail.
 *
 * - {@link run} is the one way to do the job: it packs, sends
 *   `concurrency` bodies at a time, waits out the bulk quota, journals
 *   every chunk, follows the async actions and reads their report files,
 *   and returns a {@link BulkReport}, also when the run fails or is
 *   interrupted.
 * - {@link lines} makes the input of one-id-per-line bytes (a file,
 *   stdin), which is packed from its bytes without making strings of plain ids.
 * - {@link chunk} is the pure packer, for those who send bodies themselves.
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
 *   await: true,
 *   onCreated: (ids) => Effect.log(`created (check for typos): ${ids.join(", ")}`)
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
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type * as BulkJournal from "./BulkJournal.js"
import * as engine from "./internal/bulk/engine.js"
import * as idLines from "./internal/bulk/idLines.js"
import * as linePacker from "./internal/bulk/linePacker.js"
import type * as Voucherify from "./Voucherify.js"
import * as VoucherifyError from "./VoucherifyError.js"
import { AsyncActionStatus, type BulkTarget, type Metadata } from "./VoucherifySchema.js"

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
 * One-id-per-line bytes as the input of {@link run} or {@link chunk}, made by
 * {@link lines}. Its type is what selects the byte path: the packer copies
 * each plain id from the read buffer into the body without making a string.
 *
 * @since 0.3.0
 * @category models
 */
export interface Lines<out E = never, out R = never> extends Pipeable {
  readonly _tag: "Lines"
  /** The text, as it is read. `E` includes the {@link IdLineError} of a bad line. */
  readonly bytes: Stream.Stream<Uint8Array, E, R>
}

/**
 * What {@link run} takes: ids as a `Stream` or an array (any iterable), or
 * one-id-per-line bytes made by {@link lines}.
 *
 * @since 0.3.0
 * @category models
 */
export type Input<E = never, R = never> = Stream.Stream<string, E, R> | Iterable<string> | Lines<E, R>

/**
 * How {@link run} follows each accepted async action.
 *
 * @since 0.1.0
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
 * The options of {@link run}, flat.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions<R2 = never> {
  /** `products`, `customers` (both upserted: unknown ids are created) or `vouchers` (by code; never created). */
  readonly target: BulkTarget
  /** The metadata every id gets: a JSON object, checked and encoded once. */
  readonly metadata: Metadata
  /** Requests in flight at the same time. Default 2. At most `concurrency + 1` bodies exist at any moment. */
  readonly concurrency?: number | undefined
  /** The largest body. Default: the configured `maxPayloadBytes` (10485760), and never above it. */
  readonly maxBytes?: number | undefined
  /** See {@link ChunkOptions.dedupe}. */
  readonly dedupe?: boolean | undefined
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
   * Receives {@link BulkProgress} snapshots. A function is called at once
   * when a chunk's outcome is known (accepted, refused, its action awaited)
   * or a quota wait starts, and for the other steps (items read, a chunk
   * packed or sent) at most once a second; the last state always: a
   * `console.log` in it prints a line per chunk and about one a second. A
   * `SubscriptionRef` is set at every step, for a display that samples it.
   */
  readonly onProgress?: SubscriptionRef.SubscriptionRef<BulkProgress> | ((progress: BulkProgress) => void) | undefined
  /** Called once with the final report, however the run ends: success, failure or interruption. */
  readonly onReport?: ((report: BulkReport) => Effect.Effect<void, never, R2>) | undefined
}

/**
 * Why a bulk run can stop: a call's error, or its journal's.
 *
 * @since 0.2.0
 * @category models
 */
export type BulkError = VoucherifyError.VoucherifyError | BulkJournal.JournalError

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
      /** When awaited: the records the action updated and failed, from its result. */
      done: Schema.optional(Schema.Number),
      failed: Schema.optional(Schema.Number),
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
 * The input of UTF-8 text with one id per line (a file, stdin, a socket), as
 * it is read: blank lines and a final line break are skipped, LF and CRLF
 * both end a line, and a BOM at the start is dropped. A line with leading or
 * trailing whitespace (an id with a stray space would upsert a new product),
 * with bytes that are not UTF-8, or with a control character (a tab: the file
 * looks delimited; a CR without LF: its line ends are CR only) fails the run
 * with an {@link IdLineError} naming the line, after the ids before it. A
 * line too large for any body is refused as soon as it runs past what the
 * limit leaves for an id: it is neither held nor read to its end.
 *
 * {@link run} and {@link chunk} pack it from its bytes: an id of printable
 * ASCII (without `"` or `\`) is copied from the read buffer into the body
 * without becoming a string; any other id is decoded and escaped. Both give
 * exactly the bodies of the decoded ids.
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
export const lines = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Lines<E | IdLineError, R> => ({
  _tag: "Lines",
  bytes,
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
})

/**
 * Packs ids into request bodies: greedily, in input order, each body at
 * most `maxBytes` and each but the last full (the next id would not have
 * fitted). An empty id or an id too large to fit alone fails with
 * `InvalidRequestError` carrying its `offset`, before any later body is
 * emitted; metadata that leaves no room fails at once. Bodies are built one
 * at a time, when the consumer pulls.
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
    self: Stream.Stream<string, E, R> | Lines<E, R>
  ) => Stream.Stream<BulkChunk, E | VoucherifyError.InvalidRequestError, R>
  <E, R>(
    self: Stream.Stream<string, E, R> | Lines<E, R>,
    options: ChunkOptions
  ): Stream.Stream<BulkChunk, E | VoucherifyError.InvalidRequestError, R>
} = dual(2, linePacker.chunk)

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
    self: Input<E, R>
  ) => Effect.Effect<BulkReport, BulkRunError<E>, R | R2 | Voucherify.Voucherify>
  <E = never, R = never, R2 = never>(
    self: Input<E, R>,
    options: RunOptions<R2>
  ): Effect.Effect<BulkReport, BulkRunError<E>, R | R2 | Voucherify.Voucherify>
} = dual(2, engine.runMetadata)
