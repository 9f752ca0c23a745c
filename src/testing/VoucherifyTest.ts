/**
 * An in-memory `Voucherify` for testing programs that use effect-voucherify:
 * no HTTP, no account. It validates and measures bodies like the real
 * service, keeps products, customers and vouchers with their metadata, runs
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
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import {
  checkAsyncActionId,
  checkListLimit,
  encodeBulkRequest,
  type EncodedBulkRequest
} from "../internal/payload.js"
import { awaitWith } from "../internal/awaitAction.js"
import { defaultMaxPayloadBytes } from "../internal/limits.js"
import * as Voucherify from "../Voucherify.js"
import {
  BadRequestError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  type VoucherifyError
} from "../VoucherifyError.js"
import {
  type AsyncAction,
  AsyncActionAccepted,
  AsyncActionId,
  type AsyncActionList,
  type BulkTarget,
  bulkTargets,
  type Metadata
} from "../VoucherifySchema.js"
import { decodeBulkBody } from "./internal/bulkBody.js"
import * as Check from "./internal/checkOptions.js"
import { InMemoryStore } from "./internal/inMemoryStore.js"

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
  /** How long each async action stays `IN_PROGRESS`. Default 1 second. */
  readonly processingDelay?: Duration.DurationInput | undefined
  /** Existing products. Unknown ones are created by updates anyway (upsert). */
  readonly products?: Records | undefined
  /** Existing customers. Unknown ones are created by updates anyway (upsert). */
  readonly customers?: Records | undefined
  /** Existing vouchers: updates report every other code as not found. */
  readonly vouchers?: Records | undefined
  /** Seeds the generator of {@link State.failRandomly}. Default 0. */
  readonly seed?: number | string | undefined
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
  readonly error?: Voucherify.AwaitError | undefined
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

const textDecoder = new TextDecoder()

type CallInfo = Pick<RecordedCall, "target" | "ids" | "bytes" | "asyncActionId">
type CallOutcome = Pick<RecordedCall, "outcome" | "error" | "asyncActionId">

const make = (
  options: Options | undefined
): Context.Context<Voucherify.Voucherify | VoucherifyTestState> | InvalidRequestError => {
  const maxPayloadBytes = options?.maxPayloadBytes ?? defaultMaxPayloadBytes
  const invalidLimit = Check.integer("maxPayloadBytes", maxPayloadBytes, 1)
  if (invalidLimit) return invalidLimit
  const processingDelay = Check.duration("processingDelay", options?.processingDelay ?? Duration.seconds(1))
  if (processingDelay instanceof InvalidRequestError) return processingDelay
  const store = new InMemoryStore(
    { products: options?.products, customers: options?.customers, vouchers: options?.vouchers },
    Duration.toMillis(processingDelay)
  )
  const calls: Array<RecordedCall> = []
  const random = Random.make(options?.seed ?? 0)
  const pending: Array<{ readonly method: Method | "all"; readonly error: VoucherifyError }> = []
  const randomRules: Array<{ readonly method: Method | "all"; readonly probability: number; readonly error: VoucherifyError }> =
    []
  let actionsToFail = 0

  /** A scripted answer of the server, if one applies to this call. */
  const scriptedFailure = (method: Method): Effect.Effect<void, VoucherifyError> =>
    Effect.suspend(() => {
      const index = pending.findIndex((entry) => entry.method === method || entry.method === "all")
      if (index >= 0) return Effect.fail(pending.splice(index, 1)[0]!.error)
      return Effect.forEach(
        randomRules.filter((rule) => rule.method === method || rule.method === "all"),
        (rule) => Effect.flatMap(random.next, (draw) => draw < rule.probability ? Effect.fail(rule.error) : Effect.void),
        { discard: true }
      )
    })

  /** Records the call, however it ends. */
  const recorded = <A, E extends Voucherify.AwaitError>(
    method: Method,
    info: CallInfo,
    effect: Effect.Effect<A, E>,
    acceptedId?: (a: A) => string
  ): Effect.Effect<A, E> =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      Effect.onExit(effect, (exit) =>
        Effect.sync(() => {
          const outcome = Exit.match(exit, {
            onSuccess: (a): CallOutcome => ({
              outcome: "success",
              ...(acceptedId ? { asyncActionId: acceptedId(a) } : {})
            }),
            onFailure: (cause): CallOutcome =>
              Option.match(Cause.failureOption(cause), {
                onNone: () => ({ outcome: "interrupted" }),
                onSome: (error) => ({ outcome: "failure", error })
              })
          })
          calls.push({ method, at, ...info, ...outcome })
        })
      ))

  /** The server's side of a bulk request: decode the body, then queue the action. */
  const accept = (method: Method, request: EncodedBulkRequest): Effect.Effect<AsyncActionAccepted, VoucherifyError> =>
    Effect.zipRight(
      scriptedFailure(method),
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const field = bulkTargets[request.target].field
        const decoded = decodeBulkBody(field, textDecoder.decode(request.body))
        if (typeof decoded === "string") {
          return Effect.fail(
            new BadRequestError({
              status: 400,
              code: 400,
              key: "invalid_payload",
              serverMessage: "Invalid payload",
              details: decoded
            })
          )
        }
        const fails = actionsToFail > 0
        if (fails) actionsToFail--
        const action = store.accept(request.target, decoded.ids, decoded.metadata, now, fails)
        return Effect.succeed(new AsyncActionAccepted({ async_action_id: AsyncActionId.make(action.id) }))
      })
    )

  const sendEncoded = (method: Method, request: EncodedBulkRequest) =>
    recorded(
      method,
      { target: request.target, ids: request.ids, bytes: request.body.byteLength },
      request.body.byteLength > maxPayloadBytes
        ? Effect.fail(
          new PayloadTooLargeError({ source: "local", bytes: request.body.byteLength, limit: maxPayloadBytes })
        )
        : accept(method, request),
      (accepted) => accepted.async_action_id
    )

  const update = (method: Method, target: BulkTarget, ids: unknown, metadata: unknown) => {
    const encoded = encodeBulkRequest(target, ids, metadata, maxPayloadBytes)
    if ("body" in encoded) return sendEncoded(method, encoded)
    const info: CallInfo = {
      target,
      ids: Array.isArray(ids) ? ids.length : undefined,
      bytes: encoded._tag === "PayloadTooLargeError" ? encoded.bytes : undefined
    }
    return recorded(method, info, Effect.fail(encoded))
  }

  const getAsyncAction = Effect.fn("VoucherifyTest.getAsyncAction")((id: string) => {
    const invalid = checkAsyncActionId(id)
    return recorded(
      "getAsyncAction",
      { asyncActionId: id },
      invalid
        ? Effect.fail(invalid)
        : Effect.zipRight(
          scriptedFailure("getAsyncAction"),
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            store.settle(now)
            const action = store.find(id)
            return action
              ? Effect.succeed(store.view(action, now))
              : Effect.fail(
                new NotFoundError({
                  status: 404,
                  code: 404,
                  key: "not_found",
                  serverMessage: "Resource not found",
                  details: `Cannot find async_action with id ${id}`,
                  resource_id: id,
                  resource_type: "async_action"
                })
              )
          })
        )
    )
  })

  const listAsyncActions = Effect.fn("VoucherifyTest.listAsyncActions")(
    (options?: { readonly limit?: number | undefined; readonly end_date?: string | undefined }) => {
      const limit = options?.limit
      const endDate = options?.end_date === undefined ? undefined : Date.parse(options.end_date)
      const invalid = checkListLimit(limit)
      const answer: Effect.Effect<AsyncActionList, VoucherifyError> =
        invalid
          ? Effect.fail(invalid)
          : Effect.zipRight(
            scriptedFailure("listAsyncActions"),
            Number.isNaN(endDate)
              ? Effect.fail(
                new BadRequestError({
                  status: 400,
                  code: 400,
                  key: "invalid_query_params",
                  serverMessage: "Invalid query params",
                  details: "Property .end_date cannot be recognized as a ISO-8601 compliant date"
                })
              )
              : Effect.map(Clock.currentTimeMillis, (now) => {
                store.settle(now)
                // The API's default page size for lists.
                return store.list(now, limit ?? 10, endDate)
              })
          )
      return recorded("listAsyncActions", {}, answer)
    }
  )

  const service: Voucherify.Service = {
    maxPayloadBytes,
    updateProductsMetadataInBulk: Effect.fn("VoucherifyTest.updateProductsMetadataInBulk")((request) =>
      update("updateProductsMetadataInBulk", "products", request?.source_ids, request?.metadata)
    ),
    updateCustomersMetadataInBulk: Effect.fn("VoucherifyTest.updateCustomersMetadataInBulk")((request) =>
      update("updateCustomersMetadataInBulk", "customers", request?.source_ids, request?.metadata)
    ),
    updateVouchersMetadataInBulk: Effect.fn("VoucherifyTest.updateVouchersMetadataInBulk")((request) =>
      update("updateVouchersMetadataInBulk", "vouchers", request?.codes, request?.metadata)
    ),
    sendEncodedBulkRequest: Effect.fn("VoucherifyTest.sendEncodedBulkRequest")((request) =>
      sendEncoded("sendEncodedBulkRequest", request)
    ),
    getAsyncAction,
    listAsyncActions,
    // The real service's polling loop, over this service's getAsyncAction.
    awaitAsyncAction: Effect.fn("VoucherifyTest.awaitAsyncAction")((id, awaitOptions) =>
      recorded(
        "awaitAsyncAction",
        { asyncActionId: id },
        Effect.zipRight(scriptedFailure("awaitAsyncAction"), awaitWith(getAsyncAction)(id, awaitOptions))
      )
    )
  }

  const settled = <A>(read: () => A) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      store.settle(now)
      return read()
    })

  const checkCount = (n: number): Effect.Effect<void, InvalidRequestError> =>
    Effect.suspend(() => {
      const invalid = Check.integer("n", n, 0)
      return invalid ? Effect.fail(invalid) : Effect.void
    })

  const state: State = {
    calls: Effect.sync(() => calls.slice()),
    metadata: (target, id) => settled(() => Option.fromNullable(store.records.get(target, id))),
    records: (target) => settled(() => new Map(store.records.records(target))),
    asyncActions: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        store.settle(now)
        return store.actions.map((action) => store.view(action, now))
      })),
    failNext: (method, n, error) =>
      Effect.zipRight(
        checkCount(n),
        Effect.sync(() => {
          for (let i = 0; i < n; i++) pending.push({ method, error })
        })
      ),
    failRandomly: (method, probability, error) =>
      Effect.suspend(() => {
        const invalid = Check.probability("probability", probability)
        return invalid
          ? Effect.fail(invalid)
          : Effect.sync(() => {
            randomRules.push({ method, probability, error })
          })
      }),
    failNextActions: (n) =>
      Effect.zipRight(
        checkCount(n),
        Effect.sync(() => {
          actionsToFail += n
        })
      ),
    clearFailures: Effect.sync(() => {
      pending.length = 0
      randomRules.length = 0
      actionsToFail = 0
    })
  }

  return Context.make(Voucherify.Voucherify, service).pipe(Context.add(VoucherifyTestState, state))
}

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
  Layer.effectContext(Effect.suspend(() => {
    const context = make(options)
    return context instanceof InvalidRequestError ? Effect.fail(context) : Effect.succeed(context)
  }))
