/**
 * An in-memory `Voucherify` for testing programs that use effect-voucherify:
 * no HTTP, no account. It validates and measures bodies like the real
 * service, keeps products, customers and vouchers with their metadata (and
 * the fields per-record updates give them), runs
 * async actions one at a time on the Effect `Clock` (so `TestClock` drives
 * them), records every call, and fails calls on demand.
 *
 * @example
 * ```ts
 * import { Effect, Fiber, TestClock } from "effect"
 * import { Voucherify } from "effect-voucherify"
 * import { VoucherifyTest } from "effect-voucherify/testing"
 *
 * const program = Effect.gen(function*() {
 *   const voucherify = yield* Voucherify.Voucherify
 *   const { async_action_id } = yield* voucherify.updateProductsMetadataInBulk({
 *     source_ids: ["p1", "p2"],
 *     metadata: { origin: "PL" }
 *   })
 *   return yield* voucherify.awaitAsyncAction(async_action_id)
 * })
 *
 * // in an `it.effect` test (TestClock)
 * Effect.gen(function*() {
 *   const fiber = yield* Effect.fork(program)
 *   yield* TestClock.adjust("1 minute")
 *   const action = yield* Fiber.join(fiber) // DONE, done_count 2
 *   const state = yield* VoucherifyTest.VoucherifyTestState
 *   const p1 = yield* state.metadata("products", "p1") // Option.some({ origin: "PL" })
 * }).pipe(Effect.provide(VoucherifyTest.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Voucherify from "../Voucherify.js"
import type { InvalidRequestError, ReportError, VoucherifyError } from "../VoucherifyError.js"
import type { AsyncAction, BulkTarget, Metadata } from "../VoucherifySchema.js"
import type { StoredRecord } from "./MockVoucherifyServer.js"
import * as internal from "./internal/inMemory.js"

/**
 * The name of a {@link Voucherify.Service} method, as recorded and as
 * scripted failures target it.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = keyof Voucherify.Service

/**
 * Records that exist from the start: ids alone (`["p1", "p2"]`, empty
 * metadata) or ids with their metadata (`{ p1: { color: "red" } }`).
 *
 * @since 0.1.0
 * @category models
 */
export type Records = ReadonlyArray<string> | { readonly [id: string]: Metadata }

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The largest body accepted, as `VoucherifyConfig`'s option. Default 10485760. */
  readonly maxPayloadBytes?: number | undefined
  /** How long each async action stays `IN_PROGRESS`. Default 1 second; with 0 done as soon as it is accepted. */
  readonly processingDelay?: Duration.DurationInput | undefined
  /** Existing products. Unknown ones are created by updates anyway (upsert). */
  readonly products?: Records | undefined
  /** Existing customers. Unknown ones are created by updates anyway (upsert). */
  readonly customers?: Records | undefined
  /** Existing vouchers: updates report every other code as not found. */
  readonly vouchers?: Records | undefined
  /** Seeds the generator of {@link State.failRandomly}. Default 0. */
  readonly seed?: number | string | undefined
  /**
   * How long the report file of a finished bulk update stays available
   * (`result.reports_available_till`). Default 24 hours. Reports are served
   * by `readReport` from memory, under the download host's name.
   */
  readonly reportTtl?: Duration.DurationInput | undefined
}

/**
 * One call of a {@link Voucherify.Service} method, in call order.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedCall {
  readonly method: Method
  /** `Clock` time of the call, in milliseconds. */
  readonly at: number
  /** The bulk endpoint, for the update methods and `sendEncodedBulkRequest`. */
  readonly target?: BulkTarget | undefined
  /** How many ids the request named, when they came as an array. */
  readonly ids?: number | undefined
  /** The size of the JSON body, once it could be encoded. */
  readonly bytes?: number | undefined
  /** The id accepted (bulk calls) or asked about (`getAsyncAction`, `awaitAsyncAction`). */
  readonly asyncActionId?: string | undefined
  /** `interrupted` also covers a defect: the call ended without a typed answer. */
  readonly outcome: "success" | "failure" | "interrupted"
  readonly error?: Voucherify.AwaitError | ReportError | undefined
}

/**
 * Reads what the in-memory Voucherify saw and holds, and scripts failures.
 * Reads see the store as of the current `Clock` time: actions that have
 * finished by then have been applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  /** Every call so far, oldest first; the polls of `awaitAsyncAction` appear as `getAsyncAction` calls. */
  readonly calls: Effect.Effect<ReadonlyArray<RecordedCall>>
  /** The metadata of one product, customer or voucher, if it exists. */
  readonly metadata: (target: BulkTarget, id: string) => Effect.Effect<Option.Option<Metadata>>
  /** A whole record: the fields per-record updates gave it, and its metadata. */
  readonly record: (target: BulkTarget, id: string) => Effect.Effect<Option.Option<StoredRecord>>
  /** Every record of a kind with its metadata. */
  readonly records: (target: BulkTarget) => Effect.Effect<ReadonlyMap<string, Metadata>>
  /** Every async action, in acceptance order, as `getAsyncAction` would answer now. */
  readonly asyncActions: Effect.Effect<ReadonlyArray<AsyncAction>>
  /**
   * Fails the next `n` calls of `method` (or of any method) with `error`,
   * as if the server had answered it. Local validation comes first: a
   * call refused locally does not use one up. A failed call changes nothing.
   * `n` that is not a whole number of 0 or more fails with `InvalidRequestError`.
   */
  readonly failNext: (
    method: Method | "all",
    n: number,
    error: VoucherifyError
  ) => Effect.Effect<void, InvalidRequestError>
  /**
   * From now on, fails each call of `method` (or of any method) with
   * `probability`, drawn from the generator seeded by `Options.seed`: the
   * same seed and calls give the same failures. A `probability` outside 0..1
   * fails with `InvalidRequestError`.
   */
  readonly failRandomly: (
    method: Method | "all",
    probability: number,
    error: VoucherifyError
  ) => Effect.Effect<void, InvalidRequestError>
  /**
   * The next `n` accepted bulk requests end `FAILED` and change no record.
   * `n` that is not a whole number of 0 or more fails with `InvalidRequestError`.
   */
  readonly failNextActions: (n: number) => Effect.Effect<void, InvalidRequestError>
  /** Forgets every scripted failure not used yet. */
  readonly clearFailures: Effect.Effect<void>
}

/**
 * The accessor of the in-memory Voucherify that {@link layer} provides.
 *
 * @since 0.1.0
 * @category tags
 */
export class VoucherifyTestState extends Context.Tag("effect-voucherify/testing/VoucherifyTestState")<
  VoucherifyTestState,
  State
>() {}

/**
 * Provides `Voucherify.Voucherify` in memory, and {@link VoucherifyTestState}
 * to inspect and script it. Each build starts from the records in `options`,
 * with no async action. With `@effect/vitest`,
 * `layer(VoucherifyTest.layer(options))("suite", (it) => ...)` gives the
 * suite's `it.effect` tests one store and one TestClock. Options that do not
 * hold up (a `NaN` or non-positive `maxPayloadBytes`, a negative
 * `processingDelay` or one that is not a duration) fail the layer with
 * `InvalidRequestError` naming the option.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Voucherify } from "effect-voucherify"
 * import { VoucherifyTest } from "effect-voucherify/testing"
 *
 * const TestLive = VoucherifyTest.layer({ vouchers: ["SUMMER-10"], processingDelay: "2 seconds" })
 *
 * const program = Effect.flatMap(Voucherify.Voucherify, (voucherify) =>
 *   voucherify.updateVouchersMetadataInBulk({ codes: ["SUMMER-10"], metadata: { channel: "email" } })
 * ).pipe(Effect.provide(TestLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<Voucherify.Voucherify | VoucherifyTestState, InvalidRequestError> =>
  Layer.effectContext(
    Effect.map(internal.make(options), ({ service, state }) =>
      Context.make(Voucherify.Voucherify, service).pipe(Context.add(VoucherifyTestState, state)))
  )
