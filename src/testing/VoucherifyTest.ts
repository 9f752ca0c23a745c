/**
 * An in-memory `Voucherify` for testing programs that use effect-voucherify:
 * no socket, no account. It is the real `Voucherify` service talking to
 * `MockVoucherifyServer`'s own handler through an in-process `HttpClient`,
 * so it validates, measures, answers and fails exactly as the loopback
 * server does, with the same options (`records`, `faults`, `rateLimits`,
 * ...). Its async actions run one at a time on the Effect `Clock` (so
 * `TestClock` drives them), and it records every call.
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
import type { InvalidRequestError, ReportError } from "../VoucherifyError.js"
import type { AsyncAction, BulkTarget, Metadata } from "../VoucherifySchema.js"
import type { StoredRecord } from "./MockVoucherifyServer.js"
import * as internal from "./internal/inMemory.js"
import type * as MockVoucherifyServer from "./MockVoucherifyServer.js"

/**
 * The name of a {@link Voucherify.Service} method, as recorded.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = keyof Voucherify.Service

/**
 * `MockVoucherifyServer`'s options that make sense without a socket, with
 * their meaning and defaults there, but for `processingDelay`. The service's
 * client does not retry: the answer of a fault (see
 * `MockVoucherifyServer.Fault`) reaches the program as the error it maps to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends
  Pick<
    MockVoucherifyServer.Options,
    "records" | "maxPayloadBytes" | "reportTtl" | "rateLimits" | "faults" | "maxResultErrors"
  >
{
  /** How long each async action stays `IN_PROGRESS`. Default 1 second; with 0 done as soon as it is accepted. */
  readonly processingDelay?: Duration.DurationInput | undefined
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
 * Reads what the in-memory Voucherify saw and holds, and injects faults.
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
   * Replaces the fault rules, as `MockVoucherifyServer`'s `setFaults` does:
   * rules match the requests the calls make (`path`, `method`), and a call
   * refused locally makes none. `undefined` clears them.
   */
  readonly setFaults: MockVoucherifyServer.Service["setFaults"]
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
 * to inspect it and inject faults. Each build starts from the records in
 * `options`, with no async action. With `@effect/vitest`,
 * `layer(VoucherifyTest.layer(options))("suite", (it) => ...)` gives the
 * suite's `it.effect` tests one store and one TestClock. Options that do not
 * hold up (a `NaN` or non-positive `maxPayloadBytes`, a negative
 * `processingDelay` or one that is not a duration, a fault `rate` outside
 * 0..1) fail the layer with `InvalidRequestError` naming the option.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Voucherify } from "effect-voucherify"
 * import { VoucherifyTest } from "effect-voucherify/testing"
 *
 * const TestLive = VoucherifyTest.layer({ records: { vouchers: ["SUMMER-10"] }, processingDelay: "2 seconds" })
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
