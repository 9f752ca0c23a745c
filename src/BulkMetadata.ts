/**
 * One metadata object over many ids: hands ids (an array, a stream, a file)
 * and the metadata to Voucherify with as few bulk calls as the 10 MB limit
 * allows, on the bulk engine (`BulkRun`), and accounts for every id, even
 * when things fail.
 *
 * - {@link run} is the one way to do the job: it packs, sends
 *   `concurrency` bodies at a time, waits out the bulk quota, journals
 *   every chunk, follows the async actions and reads their report files,
 *   and returns a `BulkRun.Report`, also when the run fails or is
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
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { pipeArguments } from "effect/Pipeable"
import type * as Stream from "effect/Stream"
import type * as BulkRun from "./BulkRun.js"
import * as engine from "./internal/bulk/engine.js"
import { IdLineError } from "./internal/bulk/idLines.js"
import * as linePacker from "./internal/bulk/linePacker.js"
import type { BulkChunk, ChunkOptions, Input, Lines, MetadataRunOptions as RunOptions } from "./internal/bulk/model.js"
import type * as Voucherify from "./Voucherify.js"
import type * as VoucherifyError from "./VoucherifyError.js"

export type {
  /**
   * One request body: its ids, in input order, and the exact bytes to send.
   *
   * @since 0.1.0
   * @category models
   */
  BulkChunk,
  /**
   * How {@link chunk} packs: the metadata, the body field that names the ids,
   * the largest body, and whether repeated ids are dropped.
   *
   * @since 0.1.0
   * @category models
   */
  ChunkOptions,
  /**
   * What {@link run} takes: ids as a `Stream` or an array (any iterable), or
   * one-id-per-line bytes made by {@link lines}.
   *
   * @since 0.3.0
   * @category models
   */
  Input,
  /**
   * One-id-per-line bytes as the input of {@link run} or {@link chunk}, made by
   * {@link lines}. Its type is what selects the byte path: the packer copies
   * each plain id from the read buffer into the body without making a string.
   *
   * @since 0.3.0
   * @category models
   */
  Lines,
  /**
   * The options of {@link run}: the target, the metadata every id gets, and
   * whether repeated ids are dropped, beside the options every run takes
   * (`BulkRun.Options`: concurrency, await, journal, progress, state…).
   *
   * @since 0.1.0
   * @category models
   */
  RunOptions
}

export {
  /**
   * A line of a {@link lines} input that is not a usable id: it has leading or
   * trailing whitespace, bytes that are not UTF-8, or a control character;
   * packed from its bytes, it is longer than any body can hold. `line` counts
   * from 1, blank lines included; the message reads `line 7: …`.
   *
   * @since 0.1.0
   * @category errors
   */
  IdLineError
}

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
 * Updates every id and returns the `BulkRun.Report`. When the run stops
 * early it fails with `BulkRun.BulkRunError`, which holds the report; when it
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
  ) => Effect.Effect<BulkRun.Report, BulkRun.BulkRunError<E>, R | R2 | Voucherify.Voucherify>
  <E = never, R = never, R2 = never>(
    self: Input<E, R>,
    options: RunOptions<R2>
  ): Effect.Effect<BulkRun.Report, BulkRun.BulkRunError<E>, R | R2 | Voucherify.Voucherify>
} = dual(2, engine.runMetadata)
