/**
 * Per-record bulk updates: each product, customer or voucher gets its own
 * values (a tier per customer, a price per product), through the
 * `POST /v1/{products,customers,vouchers}/bulk/async` endpoints, with every
 * guarantee of `BulkMetadata.run` on the same engine (`BulkRun`): bodies packed exactly
 * to the limit, bounded concurrency, bulk-quota waits, a journal to resume
 * from, awaited actions, the report files' created and not-updated ids, and
 * a `BulkRun.Report` that accounts for every record, also on failure.
 *
 * Every record is checked once, before it is packed, against the spec's
 * schema (`VoucherifySchema.BulkRecord`): an unknown field (`metdata`), a
 * `price` that is not an integer, metadata that is not a JSON object, an id
 * that is empty or holds a control character, a record too large for any
 * body, and an id given twice in one run fail the run with a
 * {@link RecordError} naming the line (and column, for CSV), before that
 * record is sent.
 *
 * An id given twice is refused rather than applied in order: with
 * `concurrency` above 1 two bodies can be queued in either order, and a
 * resume sends again only what the journal does not hold, so "the later
 * record wins" could not be promised. Merge such records before the run.
 * A stream is checked as it is read, so such a run stops at the second
 * occurrence, after the bodies before it; the CLI looks at a whole file first.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { BulkRecords, Voucherify } from "effect-voucherify"
 *
 * const program = BulkRecords.run([
 *   { source_id: "sku-1", price: 1999, metadata: { tier: "gold" } },
 *   { source_id: "sku-2", name: "Volleyball", metadata: { tier: "silver" } }
 * ], {
 *   target: "products",
 *   onCreated: (ids) => Effect.log(`created (check for typos): ${ids.join(", ")}`)
 * })
 *
 * program.pipe(
 *   Effect.provide(Voucherify.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici)))
 * )
 * ```
 *
 * @since 0.3.0
 */
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { pipeArguments } from "effect/Pipeable"
import type * as Stream from "effect/Stream"
import type * as BulkRun from "./BulkRun.js"
import { RecordError } from "./internal/records/check.js"
import type * as model from "./internal/records/model.js"
import * as internal from "./internal/records/run.js"
import type * as Voucherify from "./Voucherify.js"
import type { BulkRecord, BulkTarget } from "./VoucherifySchema.js"

/**
 * How {@link csv} reads a CSV file. A header row names the columns; the id
 * column names each record (`source_id` for products and customers, `code`
 * for vouchers, unless `idColumn` says otherwise); every other column is a
 * metadata key. A cell is a string unless `types` declares its column a
 * `number`, a `boolean` (`true`/`false`, any case) or `json` (any JSON
 * value): a type is never guessed from how a value looks, so `00123` stays
 * the string `"00123"`. An empty cell leaves its key out. `delimiter`
 * separates the fields (`,` by default; `";"` or `"\t"` as a spreadsheet may
 * export them).
 *
 * @since 0.3.0
 * @category models
 */
export type CsvOptions = model.CsvOptions

/**
 * Records as text, made by {@link ndjson} or {@link csv}: read, checked and
 * encoded line by line as the run pulls them, so that errors name the line.
 *
 * @since 0.3.0
 * @category models
 */
export type Text<E = never, R = never> = model.Text<E, R>

/**
 * What {@link run} takes: records as a `Stream` or an array (any
 * iterable), or text made by {@link ndjson} or {@link csv}.
 *
 * @since 0.3.0
 * @category models
 */
export type Input<A, E = never, R = never> = model.Input<A, E, R>

/**
 * The options of {@link run}: the target, which also types the records,
 * beside the options every run takes (`BulkRun.Options`: concurrency,
 * await, journal, progress…). An id given twice is refused, never dropped.
 *
 * @since 0.3.0
 * @category models
 */
export type RunOptions<T extends BulkTarget = BulkTarget, R2 = never> = model.RunOptions<T, R2>

export {
  /**
   * A record that cannot be sent, or a line that is not one: `line` (and
   * `column`, for CSV) where a text input has it, `offset` its position among
   * the records (as the report counts them), `field` the field at fault. The
   * message reads `line 7, column "weight": "12,5" is not a number`.
   *
   * @since 0.3.0
   * @category errors
   */
  RecordError
}

const text = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, format: Text["format"]): Text<E, R> => ({
  _tag: "RecordText",
  format,
  bytes,
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
})

/**
 * NDJSON records: one JSON object a line, in the API's shape
 * (`{"source_id":"sku-1","price":1999,"metadata":{"tier":"gold"}}`). Blank
 * lines are skipped, LF and CRLF both end a line, a BOM is dropped. Each
 * line is sent as it was written once the value it parses to is checked. A
 * line that is not UTF-8 or not JSON, a key written twice in one object
 * (parsers differ on which value wins), or a number that a JSON double would
 * round (`12345678901234567890`) is refused with its line.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { BulkRecords } from "effect-voucherify"
 *
 * // in a program: FileSystem's fs.stream("products.ndjson"), or NodeStream.stdin
 * const bytes = Stream.make(new TextEncoder().encode('{"source_id":"sku-1","metadata":{"tier":"gold"}}\n'))
 *
 * const run = BulkRecords.run(BulkRecords.ndjson(bytes), { target: "products" })
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const ndjson = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Text<E, R> => text(bytes, { _tag: "Ndjson" })

/**
 * CSV records, read as {@link CsvOptions} says: a `sku,tier,weight` file
 * with `{ idColumn: "sku", types: { weight: "number" } }` gives
 * `{"source_id":"sku-1","metadata":{"tier":"gold","weight":12.5}}`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const csv = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: CsvOptions = {}): Text<E, R> =>
  text(bytes, { _tag: "Csv", options })

/**
 * Updates every record and returns the `BulkRun.Report` (its unit is
 * `records`). When the run stops early it fails with `BulkRun.BulkRunError`, which
 * holds the report; a refused record stops it with a {@link RecordError},
 * after the records before it. `dual`:
 * `records.pipe(BulkRecords.run(options))` or `BulkRecords.run(records, options)`.
 *
 * @since 0.3.0
 * @category running
 */
export const run: {
  <T extends BulkTarget, R2 = never>(options: RunOptions<T, R2>): <E = never, R = never>(
    self: Input<BulkRecord<T>, E, R>
  ) => Effect.Effect<BulkRun.Report, BulkRun.BulkRunError<E | RecordError>, R | R2 | Voucherify.Voucherify>
  <T extends BulkTarget, E = never, R = never, R2 = never>(
    self: Input<BulkRecord<T>, E, R>,
    options: RunOptions<T, R2>
  ): Effect.Effect<BulkRun.Report, BulkRun.BulkRunError<E | RecordError>, R | R2 | Voucherify.Voucherify>
} = dual(2, internal.runRecords)
