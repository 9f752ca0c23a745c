/**
 * The bulk engine: packs, sends `concurrency` bodies at a time, classifies
 * each outcome, optionally follows each async action, and keeps the
 * accounting that the report is built from.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type {
  AwaitCompletionOptions,
  BulkChunk,
  BulkChunkResult,
  BulkProgress,
  BulkReport,
  ChunkAccepted,
  RunOptions,
  UpdateOptions
} from "../BulkMetadata.js"
import * as Voucherify from "../Voucherify.js"
import { VoucherifyConfig } from "../VoucherifyConfig.js"
import { InvalidRequestError, type VoucherifyError } from "../VoucherifyError.js"
import { AsyncActionStatus, type BulkTarget, bulkTargets } from "../VoucherifySchema.js"
import { packIds } from "./bulkLines.js"
import { defaultMaxBytes, recycle } from "./bulkPacker.js"
import { Tracker } from "./bulkReport.js"

/**
 * Errors after which every later chunk would fail the same way: bad
 * credentials, a missing scope or region, a quota that lasts until the
 * billing cycle ends.
 */
export const stopsTheRun = (error: VoucherifyError): boolean =>
  error._tag === "UnauthorizedError" ||
  error._tag === "ForbiddenError" ||
  (error._tag === "RateLimitError" && error.limitType === "api_calls_cycle")

/**
 * Whether the request may have reached the API and been queued although no
 * async action id came back:
 * - a transport failure or a timeout (the body may have been sent before
 *   the connection broke);
 * - 500 (the API failed somewhere while handling it), 502 and 504 (a
 *   gateway forwarded it and lost the answer);
 * - a 2xx whose body was not the expected `{async_action_id}`.
 *
 * Everything else is a definite refusal: 4xx (413, 429 included: the
 * gateway answers them before the API queues anything), 503 (nothing
 * available to take it), a refused redirect, a local validation error.
 */
export const mayHaveArrived = (error: VoucherifyError): boolean => {
  switch (error._tag) {
    case "TransportError":
      return error.reason !== "Redirect"
    case "ServerError":
      return error.status === 500 || error.status === 502 || error.status === 504
    case "ResponseDecodeError":
      return error.status >= 200 && error.status < 300
    default:
      return false
  }
}

const isStatus = Schema.is(AsyncActionStatus)

const invalidOption = (path: string, reason: string) => new InvalidRequestError({ path, reason })

const checkPositive = (path: string, value: number | undefined, fallback: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isSafeInteger(value) && value >= 1
    ? Effect.succeed(value)
    : Effect.fail(invalidOption(path, `must be a positive integer, got ${value}`))

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : Predicate.hasProperty(error, "message") ? String(error.message) : String(error)

/** Follows an accepted chunk's action; only errors that stop the run fail. */
const follow = (
  voucherify: Voucherify.Service,
  options: Voucherify.AwaitOptions
) =>
(result: ChunkAccepted): Effect.Effect<ChunkAccepted, VoucherifyError> =>
  voucherify.awaitAsyncAction(result.asyncActionId, options).pipe(
    Effect.map((action): ChunkAccepted => ({ ...result, status: action.status, action })),
    Effect.catchAll((error): Effect.Effect<ChunkAccepted, VoucherifyError> => {
      switch (error._tag) {
        case "AsyncActionFailedError":
          return Effect.succeed({ ...result, status: "FAILED", action: error.action })
        case "AsyncActionTimeoutError":
          return Effect.succeed({
            ...result,
            ...(isStatus(error.lastStatus) ? { status: error.lastStatus } : {}),
            awaitError: error.message
          })
        default:
          // the chunk was accepted all the same: only a dead credential stops the run
          return stopsTheRun(error) ? Effect.fail(error) : Effect.succeed({ ...result, awaitError: error.message })
      }
    })
  )

const isProgressTarget = (progress: unknown) =>
  typeof progress === "function" || Predicate.hasProperty(progress, SubscriptionRef.SubscriptionRefTypeId)

/** What untyped callers can get wrong before anything is read. */
const checkInput = (input: unknown, target: unknown, progress: unknown): InvalidRequestError | undefined => {
  if (typeof target !== "string" || !Object.hasOwn(bulkTargets, target)) {
    return invalidOption("target", `must be "products", "customers" or "vouchers", got ${String(target)}`)
  }
  // a string is iterable too, character by character: never what was meant
  if (
    typeof input === "string" ||
    !(Predicate.hasProperty(input, Stream.StreamTypeId) || Predicate.isIterable(input))
  ) {
    return invalidOption("ids", "must be an array, an iterable or a Stream of ids")
  }
  if (progress !== undefined && !isProgressTarget(progress)) {
    return invalidOption("progress", "must be a function or a SubscriptionRef")
  }
  return undefined
}

/**
 * The result stream. `tracker` records every event as it happens (not when
 * the ordered results come out), so that a report built after a failure or
 * an interruption is exact.
 */
const engine = <E, R>(
  input: Stream.Stream<string, E, R> | Iterable<string>,
  target: BulkTarget,
  options: UpdateOptions,
  tracker: Tracker,
  publish: Effect.Effect<void>
): Stream.Stream<BulkChunkResult, E | VoucherifyError, R | Voucherify.Voucherify> =>
  Stream.unwrap(Effect.gen(function*() {
    const invalidInput = checkInput(input, target, (options as RunOptions).progress)
    if (invalidInput !== undefined) return yield* invalidInput
    const voucherify = yield* Voucherify.Voucherify
    const config = yield* Effect.serviceOption(VoucherifyConfig)
    const limit = Option.match(config, { onNone: () => defaultMaxBytes, onSome: (c) => c.maxPayloadBytes })
    const concurrency = yield* checkPositive("concurrency", options.concurrency, 2)
    const maxBytes = yield* checkPositive("maxBytes", options.maxBytes, limit)
    if (maxBytes > limit) {
      return yield* invalidOption("maxBytes", `${maxBytes} is above the configured maxPayloadBytes of ${limit}`)
    }
    const onChunkError = options.onChunkError ?? "fail"
    if (onChunkError !== "fail" && onChunkError !== "continue") {
      return yield* invalidOption("onChunkError", `must be "fail" or "continue", got ${String(onChunkError)}`)
    }
    const awaiting: AwaitCompletionOptions | undefined = options.awaitCompletion === true
      ? {}
      : options.awaitCompletion || undefined
    const awaitConcurrency = yield* checkPositive("awaitCompletion.concurrency", awaiting?.concurrency, concurrency)

    // A body is built only once a slot is free and freed once it is sent: at
    // most `concurrency` in flight plus the one waiting for its turn.
    const slots = yield* Effect.makeSemaphore(concurrency + 1)
    // buffers of sent bodies: results never carry a body, so they can be refilled
    const recycled: Array<Buffer> = []
    const stops = (error: VoucherifyError) => stopsTheRun(error) || onChunkError === "fail"

    const send = (chunk: BulkChunk): Effect.Effect<BulkChunkResult | undefined> =>
      Effect.suspend(() => {
        // an earlier failure stopped the run: leave this chunk not attempted
        if (tracker.stopped) {
          recycle(recycled, chunk.body, maxBytes)
          return Effect.succeed(undefined)
        }
        tracker.sending(chunk.index)
        const at = { index: chunk.index, offset: chunk.offset, count: chunk.count, bytes: chunk.bytes }
        return Effect.zipRight(
          publish,
          voucherify.sendEncodedBulkRequest({ target, body: chunk.body, ids: chunk.size }).pipe(
            Effect.match({
              onSuccess: ({ async_action_id }): BulkChunkResult => ({
                _tag: "Accepted",
                ...at,
                asyncActionId: async_action_id
              }),
              onFailure: (error): BulkChunkResult => ({
                _tag: mayHaveArrived(error) ? "Unknown" : "Rejected",
                ...at,
                error
              })
            }),
            Effect.tap((result) => {
              // Only an accepted body was read to its end. After an early answer
              // (401, 429, 5xx) the socket may still be flushing the buffer: leave
              // that one to the collector rather than overwrite it.
              if (result._tag === "Accepted") recycle(recycled, chunk.body, maxBytes)
              tracker.settled(result)
              if (result._tag !== "Accepted" && stops(result.error)) tracker.stopped = true
              return publish
            }),
            Effect.withSpan("BulkMetadata.sendChunk", { attributes: { ...at, target } })
          )
        )
      }).pipe(Effect.ensuring(slots.release(1)))

    const results = packIds(
      input,
      { metadata: options.metadata, field: bulkTargets[target].field, maxBytes, dedupe: options.dedupe },
      {
        onRead: (ids) => Effect.zipRight(Effect.sync(() => tracker.read(ids)), publish),
        beforeBody: slots.take(1),
        onChunk: (chunk) => Effect.zipRight(Effect.sync(() => tracker.packed(chunk)), publish),
        recycled
      }
    ).pipe(
      Stream.mapEffect(send, { concurrency }),
      Stream.filter(Predicate.isNotUndefined),
      Stream.mapEffect((result) =>
        result._tag !== "Accepted" && stops(result.error) ? Effect.fail(result.error) : Effect.succeed(result)
      )
    )
    if (awaiting === undefined) return results
    const followOne = follow(voucherify, {
      ...(awaiting.schedule !== undefined ? { schedule: awaiting.schedule } : {}),
      ...(awaiting.timeout !== undefined ? { timeout: awaiting.timeout } : {})
    })
    return Stream.mapEffect(results, (result): Effect.Effect<BulkChunkResult, VoucherifyError> =>
      result._tag !== "Accepted" ? Effect.succeed(result) : followOne(result).pipe(
        Effect.tapBoth({
          onFailure: () => Effect.sync(() => (tracker.stopped = true)),
          onSuccess: (awaited) => {
            tracker.awaited(awaited)
            return publish
          }
        })
      ), { concurrency: awaitConcurrency })
  }))

/** `BulkMetadata.updateProducts` and its siblings. */
export const update = (target: BulkTarget) =>
<E, R>(
  ids: Stream.Stream<string, E, R> | Iterable<string>,
  options: UpdateOptions
): Stream.Stream<BulkChunkResult, E | VoucherifyError, R | Voucherify.Voucherify> =>
  Stream.suspend(() => engine(ids, target, options, new Tracker(), Effect.void))

const publisher = (
  progress: RunOptions["progress"],
  tracker: Tracker
): Effect.Effect<void> => {
  // a bad `progress` is refused by the engine, with the run's report
  if (progress === undefined || !isProgressTarget(progress)) return Effect.void
  if (typeof progress === "function") return Effect.sync(() => progress(tracker.progress()))
  return Effect.suspend(() => SubscriptionRef.set(progress, tracker.progress() satisfies BulkProgress))
}

/** What `BulkMetadata.run` fails with, before it becomes a `BulkRunError`. */
export interface Stopped<E> {
  readonly report: BulkReport
  readonly error: E | VoucherifyError
}

/** `BulkMetadata.run`. */
export const run = <E, R, R2>(
  ids: Stream.Stream<string, E, R> | Iterable<string>,
  options: RunOptions<R2>
): Effect.Effect<BulkReport, Stopped<E>, R | R2 | Voucherify.Voucherify> =>
  Effect.suspend(() => {
    const tracker = new Tracker()
    const publish = publisher(options.progress, tracker)
    let report: BulkReport | undefined

    const finish = (start: number) => (exit: Exit.Exit<void, E | VoucherifyError>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const failure = Exit.isFailure(exit)
          ? Option.match(Cause.failureOption(exit.cause), {
            onNone: () => Cause.isInterruptedOnly(exit.cause) ? undefined : describe(Cause.squash(exit.cause)),
            onSome: describe
          })
          : undefined
        const status = Exit.isSuccess(exit)
          ? "completed"
          : Cause.isInterruptedOnly(exit.cause)
          ? "interrupted"
          : "failed"
        report = tracker.report(status, now - start, failure)
        return Effect.zipRight(publish, options.onReport?.(report) ?? Effect.void)
      })

    return Effect.flatMap(Clock.currentTimeMillis, (start) =>
      Stream.runDrain(engine(ids, options.target, options, tracker, publish)).pipe(
        Effect.onExit(finish(start)),
        Effect.matchCauseEffect({
          onSuccess: () => Effect.succeed(report!),
          onFailure: (cause) =>
            Option.match(Cause.failureOption(cause), {
              // a defect or an interruption: nothing to add, the report went to onReport
              onNone: () => Effect.failCause(cause as Cause.Cause<never>),
              onSome: (error) => Effect.fail({ report: report!, error })
            })
        })
      )).pipe(
        Effect.withSpan("BulkMetadata.run", { attributes: { target: options.target } })
      )
  })
