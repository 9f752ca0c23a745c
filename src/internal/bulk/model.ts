/**
 * The shapes the packer and the engine take and give, defined here so that
 * nothing under `internal/` imports the public modules that document them
 * (`BulkMetadata.BulkChunk`, `BulkMetadata.Lines`…).
 *
 * @internal
 */
import type { Pipeable } from "effect/Pipeable"
import type * as Stream from "effect/Stream"
import type * as BulkRun from "../../BulkRun.js"
import type { BulkTarget, Metadata } from "../../VoucherifySchema.js"

/** How `BulkMetadata.chunk` packs. */
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

/** One request body: its items, in input order, and the exact bytes to send. */
export interface BulkChunk {
  /** 0, 1, 2… in input order. */
  readonly index: number
  /** Position in the input of the chunk's first item. */
  readonly offset: number
  /**
   * How many input positions the chunk covers: `size`, plus the repeated
   * ids dropped by `dedupe`. The chunks' ranges tile the input.
   */
  readonly count: number
  /**
   * The ids the body names, in input order. Decoded from `body` on first
   * use: the packer does not keep the strings, so that a run of millions of
   * ids holds only its bodies.
   */
  readonly ids: ReadonlyArray<string>
  /** How many items the body holds (`ids.length`, without decoding them). */
  readonly size: number
  /** `body.byteLength`. */
  readonly bytes: number
  /** The UTF-8 JSON body: `{"source_ids":[…],"metadata":{…}}`, or `[…]` of records. */
  readonly body: Uint8Array
}

/**
 * One-id-per-line bytes, made by `BulkMetadata.lines`. Its type is what
 * selects the byte path: the packer copies each plain id from the read
 * buffer into the body without making a string.
 */
export interface Lines<out E = never, out R = never> extends Pipeable {
  readonly _tag: "Lines"
  /** The text, as it is read. `E` includes the `IdLineError` of a bad line. */
  readonly bytes: Stream.Stream<Uint8Array, E, R>
}

/** What the packer takes: items as a `Stream` or an array (any iterable), or one-id-per-line bytes. */
export type Input<E = never, R = never> = Stream.Stream<string, E, R> | Iterable<string> | Lines<E, R>

/** `BulkMetadata.RunOptions`: the metadata endpoints' options beside those every run takes. */
export interface MetadataRunOptions<R2 = never> extends BulkRun.Options<R2> {
  /** `products`, `customers` (both upserted: unknown ids are created) or `vouchers` (by code; never created). */
  readonly target: BulkTarget
  /** The metadata every id gets: a JSON object, checked and encoded once. */
  readonly metadata: Metadata
  /** See `ChunkOptions.dedupe`: drop ids seen before, at the cost of a `Set` of every id. */
  readonly dedupe?: boolean | undefined
}
