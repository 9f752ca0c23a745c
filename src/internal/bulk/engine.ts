/**
 * The bulk engine: packs, sends `concurrency` bodies at a time, classifies
 * each outcome, optionally follows each async action, and keeps the
 * accounting that the report is built from.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type {
  AwaitCompletionOptions,
  BulkError,
  BulkChunk,
  BulkChunkResult,
  BulkProgress,
  BulkReport,
  ChunkAccepted,
  RunOptions,
  UpdateOptions
} from "../../BulkMetadata.js"
import * as Voucherify from "../../Voucherify.js"
import { InvalidRequestError, type VoucherifyError } from "../../VoucherifyError.js"
import { AsyncActionStatus, type BulkTarget, bulkTargets } from "../../VoucherifySchema.js"
import * as Ledger from "../journal/ledger.js"
import { packIds } from "./linePacker.js"
import { recycle } from "./packer.js"
import { encodeMetadata } from "./payload.js"
import { reconcile } from "./reconcile.js"
import { Tracker } from "./report.js"
import { defaultMaxQuotaWait, makeQuotaGate } from "./quota.js"
import { mayHaveArrived, quotaWait, stopsTheRun } from "../http/errorRules.js"

const isStatus = Schema.is(AsyncActionStatus)

type ChunkRange = Pick<BulkChunk, "index" | "offset" | "count" | "bytes">

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
): Stream.Stream<BulkChunkResult, E | BulkError, R | Voucherify.Voucherify> =>
  Stream.unwrap(Effect.gen(function*() {
    const voucherify = yield* Voucherify.Voucherify
    const limit = voucherify.maxPayloadBytes
    const concurrency = yield* checkPositive("concurrency", options.concurrency, 2)
    const maxBytes = yield* checkPositive("maxBytes", options.maxBytes, limit)
    if (maxBytes > limit) {
      return yield* invalidOption("maxBytes", `${maxBytes} is above the configured maxPayloadBytes of ${limit}`)
    }
    const onChunkError = options.onChunkError ?? "fail"
    const awaiting: AwaitCompletionOptions | undefined = options.awaitCompletion === true
      ? {}
      : options.awaitCompletion || undefined
    const awaitConcurrency = yield* checkPositive("awaitCompletion.concurrency", awaiting?.concurrency, concurrency)
    // the metadata before the journal: a run refused for it leaves no journal behind
    const metadataJson = encodeMetadata(options.metadata)
    if (typeof metadataJson !== "string") return yield* metadataJson
    const ledger = options.journal === undefined
      ? Ledger.none
      : yield* Ledger.journaled(options.journal, { target, metadata: options.metadata, maxBytes })
    tracker.journaled = options.journal !== undefined

    // A body is built only once a slot is free and freed once it is sent: at
    // most `concurrency` in flight plus the one waiting for its turn.
    const slots = yield* Effect.makeSemaphore(concurrency + 1)
    // buffers of sent bodies: results never carry a body, so they can be refilled
    const recycled: Array<Buffer> = []

    const maxQuotaWait = options.quota?.maxWait === undefined ? defaultMaxQuotaWait : Duration.decode(options.quota.maxWait)
    const gate = makeQuotaGate({
      maxWait: maxQuotaWait,
      onWait: (until) => Effect.zipRight(Effect.sync(() => tracker.waitingForQuota(until)), publish)
    })
    // A wait past the cap ends the run whatever onChunkError says: every later chunk would wait as long.
    const stops = (error: VoucherifyError) =>
      stopsTheRun(error) || onChunkError === "fail" || quotaWait(error) !== undefined

    /** One request for the chunk, after the quota gate; a refusal for the quota waits and sends it again. */
    const attempt = (
      chunk: BulkChunk,
      facts: Ledger.Facts,
      at: ChunkRange
    ): Effect.Effect<BulkChunkResult | undefined, BulkError> =>
      Effect.gen(function*() {
        yield* gate.pass
        // an earlier failure stopped the run while this chunk waited: leave it as it stands
        if (tracker.stopped) return undefined
        yield* ledger.sending(facts)
        tracker.sending(chunk.index)
        yield* publish
        const outcome = yield* Effect.either(
          voucherify.sendEncodedBulkRequest({ target, body: chunk.body, ids: chunk.size }).pipe(
            Effect.withSpan("BulkMetadata.sendChunk", { attributes: { ...at, target } })
          )
        )
        if (outcome._tag === "Right") {
          yield* gate.accepted(outcome.right.rateLimit)
          return { _tag: "Accepted", ...at, asyncActionId: outcome.right.async_action_id }
        }
        const error = outcome.left
        const wait = quotaWait(error)
        if (wait !== undefined && (yield* gate.refused(wait))) {
          // refused before anything was queued: the same body goes again once the quota allows
          tracker.refusedForQuota(chunk.index, error)
          yield* publish
          return yield* attempt(chunk, facts, at)
        }
        return { _tag: mayHaveArrived(error) ? "Unknown" : "Rejected", ...at, error }
      })

    /**
     * The outcome of a chunk, in the journal first: an acceptance counts once
     * it is on the disk. Uninterruptible: a Ctrl-C or a SIGHUP that comes
     * while the line is written leaves the journal and the report saying the
     * same thing of the chunk.
     */
    const settle = (chunk: BulkChunk, facts: Ledger.Facts, result: BulkChunkResult): Effect.Effect<void, BulkError> =>
      Effect.uninterruptible(Effect.zipRight(
        Effect.onError(ledger.settled(facts, result), () =>
          Effect.sync(() => {
            // Voucherify has the chunk all the same: the report says so, the run stops
            tracker.settled(result)
            tracker.stopped = true
          })),
        Effect.suspend(() => {
          // Only an accepted body was read to its end. After an early answer
          // (401, 429, 5xx) the socket may still be flushing the buffer: leave
          // that one to the collector rather than overwrite it.
          if (result._tag === "Accepted") recycle(recycled, chunk.body, maxBytes)
          tracker.settled(result)
          if (result._tag !== "Accepted" && stops(result.error)) tracker.stopped = true
          return publish
        })
      ))

    /**
     * Hashes and checks each chunk against the journal in input order: a
     * chunk that differs from the one the journal accepted stops the run
     * before any later chunk can be sent.
     */
    const check = (chunk: BulkChunk): Effect.Effect<readonly [BulkChunk, Ledger.Checked], BulkError> =>
      Effect.suspend(() =>
        // a stopped run sends nothing more: no hash needed
        tracker.stopped ? Ledger.none.check(chunk) : ledger.check(chunk).pipe(
          Effect.tapError(() => Effect.sync(() => (tracker.stopped = true)))
        )
      ).pipe(Effect.map((checked) => [chunk, checked] as const))

    const send = (
      [chunk, { facts, held }]: readonly [BulkChunk, Ledger.Checked]
    ): Effect.Effect<BulkChunkResult | undefined, BulkError> =>
      Effect.gen(function*() {
        // an earlier failure stopped the run: leave this chunk not attempted
        if (tracker.stopped) {
          recycle(recycled, chunk.body, maxBytes)
          return undefined
        }
        const at = { index: chunk.index, offset: chunk.offset, count: chunk.count, bytes: chunk.bytes }
        if (held !== undefined) {
          // a resumed journal holds this very body as accepted: not sent again
          recycle(recycled, chunk.body, maxBytes)
          const result: ChunkAccepted = {
            _tag: "Accepted",
            ...at,
            asyncActionId: held.asyncActionId,
            fromJournal: true,
            ...(held.finalStatus !== undefined ? { status: held.finalStatus } : {})
          }
          tracker.fromJournal(result)
          yield* publish
          return result
        }
        const result = yield* attempt(chunk, facts, at)
        if (result !== undefined) yield* settle(chunk, facts, result)
        return result
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
      Stream.mapEffect(check),
      Stream.mapEffect(send, { concurrency }),
      Stream.filter(Predicate.isNotUndefined),
      Stream.mapEffect((result) =>
        result._tag !== "Accepted" && stops(result.error) ? Effect.fail(result.error) : Effect.succeed(result)
      ),
      // the input ended: a journal that accepted more chunks belongs to a longer input
      Stream.concat(Stream.execute(Effect.suspend(() => ledger.end(tracker.progress().chunksPacked))))
    )
    if (awaiting === undefined) return results
    const followed = follow(voucherify, {
      ...(awaiting.schedule !== undefined ? { schedule: awaiting.schedule } : {}),
      ...(awaiting.timeout !== undefined ? { timeout: awaiting.timeout } : {})
    })
    const reconcileOne = awaiting.reconcile === undefined || awaiting.reconcile === false
      ? undefined
      : reconcile(voucherify, target, awaiting.reconcile === true ? {} : awaiting.reconcile)
    const followOne = (result: ChunkAccepted) =>
      reconcileOne === undefined ? followed(result) : Effect.flatMap(followed(result), (awaited) =>
        awaited.status !== "DONE"
          ? Effect.succeed(awaited)
          : Effect.map(reconcileOne(awaited), (reconciled): ChunkAccepted => ({ ...awaited, reconciled })))
    return Stream.mapEffect(results, (result): Effect.Effect<BulkChunkResult, BulkError> =>
      // refused, or ended already (a resumed journal saw it end)
      result._tag !== "Accepted" || result.status === "DONE" || result.status === "FAILED"
        ? Effect.succeed(result)
        : followOne(result).pipe(
          Effect.tap((awaited) => {
            tracker.awaited(awaited)
            return publish
          }),
          // then its end in the journal, so that a resume need not follow it again
          Effect.tap(ledger.finished),
          Effect.tapError(() => Effect.sync(() => (tracker.stopped = true)))
        ), { concurrency: awaitConcurrency })
  }))

/** `BulkMetadata.updateProducts` and its siblings. */
export const update = (target: BulkTarget) =>
<E, R>(
  ids: Stream.Stream<string, E, R> | Iterable<string>,
  options: UpdateOptions
): Stream.Stream<BulkChunkResult, E | BulkError, R | Voucherify.Voucherify> =>
  Stream.suspend(() => engine(ids, target, options, new Tracker(), Effect.void))

const publisher = (
  progress: RunOptions["progress"],
  tracker: Tracker
): Effect.Effect<void> => {
  if (progress === undefined) return Effect.void
  if (typeof progress === "function") return Effect.sync(() => progress(tracker.progress()))
  return Effect.suspend(() => SubscriptionRef.set(progress, tracker.progress() satisfies BulkProgress))
}

/** What `BulkMetadata.run` fails with, before it becomes a `BulkRunError`. */
export interface Stopped<E> {
  readonly report: BulkReport
  readonly error: E | BulkError
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

    const finish = (start: number) => (exit: Exit.Exit<void, E | BulkError>) =>
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
