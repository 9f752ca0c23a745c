/**
 * The shapes of a per-record run's input, defined here so that nothing
 * under `internal/` imports `BulkRecords.ts`, which documents them.
 *
 * @internal
 */
import type { Pipeable } from "effect/Pipeable"
import type * as Stream from "effect/Stream"
import type * as BulkRun from "../../BulkRun.js"
import type { BulkTarget } from "../../VoucherifySchema.js"

/** How `BulkRecords.csv` reads a CSV file. */
export interface CsvOptions {
  /** The column of the ids. */
  readonly idColumn?: string | undefined
  /** The columns whose cells are not strings: `{ weight: "number", active: "boolean", tags: "json" }`. */
  readonly types?: Readonly<Record<string, "number" | "boolean" | "json">> | undefined
  /** What separates the fields: `,` by default; `;` or a tab as a spreadsheet may write. */
  readonly delimiter?: string | undefined
}

/** Records as text, made by `BulkRecords.ndjson` or `BulkRecords.csv`. */
export interface Text<out E = never, out R = never> extends Pipeable {
  readonly _tag: "RecordText"
  readonly format: { readonly _tag: "Ndjson" } | { readonly _tag: "Csv"; readonly options: CsvOptions }
  /** The text, as it is read (UTF-8). */
  readonly bytes: Stream.Stream<Uint8Array, E, R>
}

/** Records as a `Stream` or an array (any iterable), or text. */
export type Input<A, E = never, R = never> = Stream.Stream<A, E, R> | Iterable<A> | Text<E, R>

/** `BulkRecords.RunOptions`: the target, which also types the records, beside the options every run takes. */
export interface RunOptions<T extends BulkTarget = BulkTarget, R2 = never> extends BulkRun.Options<R2> {
  /**
   * `products`, `customers` (both upserted: unknown ids are created) or
   * `vouchers` (by code; never created, and only metadata is updated).
   */
  readonly target: T
}
