/**
 * The bulk engine: packs items into bodies, sends `concurrency` bodies at a
 * time through the quota gate, classifies each outcome, journals it,
 * optionally follows each async action and reads its report files, and
 * keeps the accounting that the report is built from.
 *
 * A kind of bulk update (the metadata endpoints; later the per-record ones)
 * brings a {@link Job}: how its bodies are framed, what its journal records,
 * and how one body is sent. Everything else is the same for every kind.
 *
 * The run stops by interruption: an outcome that ends the run completes the
 * `stop` deferred, which every chunk still waiting for its turn races
 * against; requests already in flight finish and are accounted for, then
 * the result stream fails and its fibers are interrupted.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as BulkJournal from "../../BulkJournal.js"
import { BulkRunError, type Options, type Report } from "../../BulkRun.js"
import type * as SyncState from "../../SyncState.js"
import * as Voucherify from "../../Voucherify.js"
import { InvalidRequestError, type VoucherifyError } from "../../VoucherifyError.js"
import { AsyncActionStatus, type BulkAccepted, type BulkTarget } from "../../VoucherifySchema.js"
import { bulkTargets } from "../bulkTargets.js"
import { mayHaveArrived, quotaWait, stopsTheRun } from "../http/errorRules.js"
import * as Journal from "../journal/ledger.js"
import type { ChunkAccepted, ChunkRange, ChunkResult } from "./chunkResult.js"
import { isLines, packInput } from "./linePacker.js"
import { fromInput, metadataPacking, type Packing, recycle } from "./packer.js"
import { defaultMaxQuotaWait, makeQuotaGate } from "./quota.js"
import { reconcile } from "./reconcile.js"
import type { BulkChunk, Input, MetadataRunOptions } from "./model.js"
import { type Publish, publisher } from "./publish.js"
import { Tracker } from "./report.js"
import { contentHash } from "../state/contentHash.js"
import { type Identify, lineIds, stateSince, Sync } from "../state/sync.js"

const isStatus = Schema.is(AsyncActionStatus)

/** Why a run can stop: a call's error, its journal's, or its sync state's. */
type BulkError = VoucherifyError | BulkJournal.JournalError | SyncState.SyncStateError

/** The public module that started a run: its name for the spans, its unit for the report and the progress. */
export interface Wing {
  readonly name: "BulkMetadata" | "BulkRecords"
  readonly unit: Report["unit"]
}

/** What one kind of bulk update brings to the engine. */
export interface Job {
  readonly target: BulkTarget
  readonly packing: Packing
  /** What a journal records of the run, and a resume compares. */
  readonly description: Journal.Run
  /** Sends one packed body. */
  readonly send: (chunk: BulkChunk) => Effect.Effect<BulkAccepted, VoucherifyError>
  /** How a sync state names the job's items. */
  readonly identify: Identify
}

const positive = (path: string, value: number | undefined, fallback: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isSafeInteger(value) && value >= 1
    ? Effect.succeed(value)
    : Effect.fail(new InvalidRequestError({ path, reason: `must be a positive integer, got ${value}` }))

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : Predicate.hasProperty(error, "message") ? String(error.message) : String(error)

/** Follows an accepted chunk's action; only errors that stop the run fail. */
const follow = (voucherify: Voucherify.Service, options: Voucherify.AwaitOptions) =>
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

/** The settings of a run, each option checked once. */
interface Settings {
  readonly concurrency: number
  readonly awaitConcurrency: number
  readonly awaiting: Voucherify.AwaitOptions | undefined
  readonly reconciling: boolean
  readonly onChunkError: "fail" | "continue"
  readonly maxQuotaWait: Duration.Duration
  /** With a state: the oldest confirmation that counts (epoch milliseconds). */
  readonly stateSince: number
}

const settingsOf = <R2>(options: Options<R2>): Effect.Effect<Settings, InvalidRequestError> =>
  Effect.gen(function*() {
    const concurrency = yield* positive("concurrency", options.concurrency, 2)
    const syncing = options.state !== undefined
    if (syncing && options.resume === true) {
      return yield* new InvalidRequestError({
        path: "resume",
        reason: "a run with a state sends only what the state has not confirmed: run it again without resume"
      })
    }
    if (!syncing && options.stateMaxAge !== undefined) {
      return yield* new InvalidRequestError({ path: "stateMaxAge", reason: "needs a state" })
    }
    // a state learns only from the report files of finished actions
    const reconciling = syncing || options.onCreated !== undefined || options.onNotUpdated !== undefined ||
      (typeof options.await === "object" && options.await.reconcile === true)
    const awaitOptions = typeof options.await === "object" ? options.await : {}
    const awaiting = options.await !== undefined && options.await !== false || reconciling
      ? {
        ...(awaitOptions.schedule !== undefined ? { schedule: awaitOptions.schedule } : {}),
        ...(awaitOptions.timeout !== undefined ? { timeout: awaitOptions.timeout } : {})
      }
      : undefined
    return {
      concurrency,
      awaitConcurrency: yield* positive("await.concurrency", awaitOptions.concurrency, concurrency),
      awaiting,
      reconciling,
      onChunkError: options.onChunkError ?? "fail",
      maxQuotaWait: options.maxQuotaWait === undefined ? defaultMaxQuotaWait : Duration.decode(options.maxQuotaWait),
      stateSince: yield* stateSince(options.stateMaxAge)
    }
  })

/**
 * The result stream. `tracker` records every event as it happens (not when
 * the ordered results come out), so that a report built after a failure or
 * an interruption is exact.
 */
const results = <E, R, R2>(
  input: Input<E, R>,
  wing: Wing,
  job: Job,
  options: Options<R2>,
  settings: Settings,
  voucherify: Voucherify.Service,
  tracker: Tracker,
  publish: Publish
): Stream.Stream<ChunkResult, E | BulkError, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const { concurrency, onChunkError } = settings
    const maxBytes = job.packing.maxBytes
    const ledger = options.journal === undefined
      ? Journal.noLedger
      : yield* Journal.ledger(options.journal, options.resume === true, job.description)
    tracker.journaled = options.journal !== undefined
    const sync = options.state === undefined
      ? undefined
      : new Sync(options.state, job.target, job.identify, settings.stateSince)
    tracker.syncing = sync !== undefined
    // a first fill's hashing worker ends with the run
    if (sync !== undefined) yield* Effect.addFinalizer(() => Effect.promise(() => sync.close()))
    const items: Input<E | SyncState.SyncStateError, R> = sync === undefined ? input : sync.changed(
      // a line of ids too long for any body is refused by the packer, once read
      isLines(input) ? lineIds(input, maxBytes) as Stream.Stream<string, E, R> : fromInput(input),
      (count) => Effect.zipRight(Effect.sync(() => tracker.unchanged(count)), publish.step)
    )
    // Completed by the first outcome that ends the run: chunks still waiting
    // for their turn are not sent; requests in flight finish.
    const stop = yield* Deferred.make<void>()
    const stopRun = Deferred.done(stop, Exit.void)

    // A body is built only once a slot is free and freed once it is sent: at
    // most `concurrency` in flight plus the one waiting for its turn.
    const slots = yield* Effect.makeSemaphore(concurrency + 1)
    // With a state, the records sent wait in memory for their action's report: a body is built only
    // while fewer than `concurrency + awaitConcurrency` chunks are sent and not yet followed to their
    // end, so that a first fill of millions holds a few chunks' worth, not the whole input.
    const ahead = sync === undefined ? undefined : yield* Effect.makeSemaphore(concurrency + settings.awaitConcurrency)
    /** The chunk at `offset` is followed to its end, or ends unsent: its place is free, its records let go. */
    const behind = (offset: number) =>
      sync === undefined || ahead === undefined
        ? Effect.void
        : Effect.zipRight(Effect.sync(() => sync.forget(offset)), ahead.release(1))
    // buffers of sent bodies: results never carry a body, so they can be refilled
    const recycled: Array<Buffer> = []

    const gate = makeQuotaGate({
      maxWait: settings.maxQuotaWait,
      onWait: (until) => Effect.zipRight(Effect.sync(() => tracker.waitingForQuota(until)), publish.outcome)
    })
    // A wait past the cap ends the run whatever onChunkError says: every later chunk would wait as long.
    const stops = (error: VoucherifyError) =>
      stopsTheRun(error) || onChunkError === "fail" || quotaWait(error) !== undefined
    /**
     * Waits for the chunk's turn at the quota gate: `false` when the run
     * stopped first, or by the time the gate let it pass (the race does not
     * say which of two ready sides won).
     */
    const turn = Effect.raceFirst(gate.pass, Deferred.await(stop)).pipe(
      Effect.zipRight(Deferred.isDone(stop)),
      Effect.map((stopped) => !stopped)
    )

    /** One request for the chunk, in its turn; a refusal for the quota waits and sends it again. */
    const attempt = (
      chunk: BulkChunk,
      facts: Journal.ChunkFacts,
      at: ChunkRange
    ): Effect.Effect<ChunkResult | undefined, BulkError> =>
      Effect.gen(function*() {
        // the run stopped while this chunk waited: it stays not attempted
        if (!(yield* turn)) return undefined
        yield* ledger.sending(facts)
        tracker.sending(chunk.index)
        yield* publish.step
        const outcome = yield* Effect.either(
          job.send(chunk).pipe(Effect.withSpan(`${wing.name}.sendChunk`, { attributes: { ...at, target: job.target, unit: wing.unit } }))
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
          yield* publish.outcome
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
    const settle = (chunk: BulkChunk, facts: Journal.ChunkFacts, result: ChunkResult): Effect.Effect<void, BulkError> =>
      Effect.uninterruptible(Effect.zipRight(
        // Voucherify has the chunk all the same: the report says so, and the run stops
        Effect.onError(ledger.settled(facts, result), () => Effect.zipRight(Effect.sync(() => tracker.settled(result)), stopRun)),
        Effect.suspend(() => {
          // Only an accepted body was read to its end. After an early answer
          // (401, 429, 5xx) the socket may still be flushing the buffer: leave
          // that one to the collector rather than overwrite it.
          if (result._tag === "Accepted") recycle(recycled, chunk.body, maxBytes)
          tracker.settled(result)
          return Effect.zipRight(result._tag !== "Accepted" && stops(result.error) ? stopRun : Effect.void, publish.outcome)
        })
      ))

    /**
     * Hashes and checks each chunk against the journal in input order: a
     * chunk that differs from the one the journal accepted stops the run
     * before any later chunk can be sent.
     */
    const check = (chunk: BulkChunk): Effect.Effect<readonly [BulkChunk, Journal.Checked], BulkError> =>
      ledger.check(chunk).pipe(
        Effect.tapError(() => stopRun),
        Effect.map((checked) => [chunk, checked] as const)
      )

    const send = (
      [chunk, { facts, held }]: readonly [BulkChunk, Journal.Checked]
    ): Effect.Effect<ChunkResult | undefined, BulkError> =>
      Effect.gen(function*() {
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
          yield* publish.step
          return result
        }
        const result = yield* Effect.onExit(attempt(chunk, facts, at), (exit) =>
          // an accepted chunk frees its place once followed; any other at once
          exit._tag === "Success" && exit.value?._tag === "Accepted" ? Effect.void : behind(chunk.offset))
        if (result === undefined) recycle(recycled, chunk.body, maxBytes)
        else yield* settle(chunk, facts, result)
        return result
      }).pipe(Effect.ensuring(slots.release(1)))

    const sent = packInput(items, job.packing, {
      onRead: (ids) => Effect.zipRight(Effect.sync(() => tracker.read(ids)), publish.step),
      beforeBody: ahead === undefined ? slots.take(1) : Effect.zipRight(ahead.take(1), slots.take(1)),
      onChunk: (chunk) =>
        Effect.zipRight(
          Effect.sync(() => {
            tracker.packed(chunk)
            sync?.packed(chunk)
          }),
          publish.step
        ),
      recycled
    }).pipe(
      Stream.mapEffect(check),
      Stream.mapEffect(send, { concurrency }),
      Stream.filter(Predicate.isNotUndefined),
      Stream.mapEffect((result) =>
        result._tag !== "Accepted" && stops(result.error) ? Effect.fail(result.error) : Effect.succeed(result)
      ),
      // the input ended: a journal that accepted more chunks belongs to a longer input
      Stream.concat(Stream.execute(Effect.suspend(() => ledger.end(tracker.progress().chunksPacked))))
    )
    if (settings.awaiting === undefined) return sent
    const followed = follow(voucherify, settings.awaiting)
    /** The report files of a `DONE` action; with a state, the items they call updated are confirmed. */
    const reconcileOne = (awaited: ChunkAccepted): Effect.Effect<ChunkAccepted, BulkError> => {
      const updated: Array<string> = []
      const reconciled = reconcile(voucherify, job.target, {
        onCreated: options.onCreated,
        onNotUpdated: options.onNotUpdated,
        ...(sync !== undefined
          ? {
            onUpdated: (ids: ReadonlyArray<string>) => {
              // one at a time: a spread of a large chunk of rows would overflow the stack
              for (const id of ids) updated.push(id)
            }
          }
          : {})
      })(awaited)
      return Effect.flatMap(reconciled, (reconciled) => {
        const result: ChunkAccepted = { ...awaited, reconciled }
        // a report not read whole confirms nothing: its items go again next time
        if (sync === undefined || "unread" in reconciled) return Effect.succeed(result)
        return Effect.as(
          Effect.flatMap(Clock.currentTimeMillis, (now) => sync.confirm(awaited.asyncActionId, awaited.offset, updated, now)),
          result
        )
      })
    }
    const followOne = (result: ChunkAccepted) =>
      !settings.reconciling ? followed(result) : Effect.flatMap(followed(result), (awaited) =>
        awaited.status !== "DONE" ? Effect.succeed(awaited) : reconcileOne(awaited))
    return Stream.mapEffect(sent, (result): Effect.Effect<ChunkResult, BulkError> =>
      // refused, or ended already (a resumed journal saw it end)
      result._tag !== "Accepted"
        ? Effect.succeed(result)
        : result.status === "DONE" || result.status === "FAILED"
        ? Effect.as(behind(result.offset), result)
        : followOne(result).pipe(
          Effect.ensuring(behind(result.offset)),
          Effect.tap((awaited) => {
            tracker.awaited(awaited)
            return publish.outcome
          }),
          // then its end in the journal, so that a resume need not follow it again
          Effect.tap((awaited) =>
            awaited.status === "DONE" || awaited.status === "FAILED"
              ? ledger.finished({ index: awaited.index, asyncActionId: awaited.asyncActionId, status: awaited.status })
              : Effect.void
          )
        ), { concurrency: settings.awaitConcurrency })
  }))

/**
 * Runs a job over its input and returns the report, or fails with the
 * `BulkRunError` that holds it. `prepare` checks the job's own options (the
 * metadata, the body size against the service's limit); its error, like any
 * other, ends the run with a report.
 */
export const runJob = <E, R, R2>(
  input: Input<E, R>,
  options: Options<R2>,
  wing: Wing,
  target: BulkTarget,
  prepare: (voucherify: Voucherify.Service) => Effect.Effect<Job, InvalidRequestError>
): Effect.Effect<Report, BulkRunError<E>, R | R2 | Voucherify.Voucherify> =>
  Effect.gen(function*() {
    const voucherify = yield* Voucherify.Voucherify
    const tracker = new Tracker(wing.unit)
    const publish = publisher(options.onProgress, tracker)
    const start = yield* Clock.currentTimeMillis
    const ran = Effect.gen(function*() {
      const settings = yield* settingsOf(options)
      // the job before the journal: a run refused for its options leaves no journal behind
      const job = yield* prepare(voucherify)
      // The progress ticker runs as long as the run, no longer. Forked into the
      // run's scope, not raced: an interruption then waits for the drain's
      // uninterruptible steps (a chunk settled in the journal and the report),
      // so that the report made after it says what the journal says.
      yield* Effect.scoped(Effect.zipRight(
        Effect.forkScoped(publish.tick),
        Stream.runDrain(results(input, wing, job, options, settings, voucherify, tracker, publish))
      ))
    })
    const reportOf = (exit: Exit.Exit<void, E | BulkError>) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (Exit.isSuccess(exit)) return tracker.report("completed", now - start)
        const interrupted = Cause.isInterruptedOnly(exit.cause)
        const failure = Option.match(Cause.failureOption(exit.cause), {
          onNone: () => interrupted ? undefined : describe(Cause.squash(exit.cause)),
          onSome: describe
        })
        return tracker.report(interrupted ? "interrupted" : "failed", now - start, failure)
      })
    // the report is made and handed on however the run ends, an interruption included
    const made = yield* Deferred.make<Report>()
    const exit = yield* Effect.onExit(ran, (exit) =>
      Effect.flatMap(reportOf(exit), (report) =>
        Effect.zipRight(
          Deferred.succeed(made, report),
          Effect.zipRight(publish.outcome, options.onReport?.(report) ?? Effect.void)
        ))).pipe(Effect.exit)
    const report = yield* Deferred.await(made)
    if (Exit.isSuccess(exit)) return report
    return yield* Option.match(Cause.failureOption(exit.cause), {
      // a defect or an interruption: nothing to add, the report went to onReport
      onNone: () => Effect.failCause(exit.cause as Cause.Cause<never>),
      onSome: (error) => Effect.fail(new BulkRunError<E>({ report, error }))
    })
  }).pipe(Effect.withSpan(`${wing.name}.run`, { attributes: { target, unit: wing.unit } }))

/** `BulkMetadata.run`: the metadata endpoints' job. */
export const runMetadata = <E, R, R2>(
  input: Input<E, R>,
  options: MetadataRunOptions<R2>
): Effect.Effect<Report, BulkRunError<E>, R | R2 | Voucherify.Voucherify> =>
  runJob(input, options, { name: "BulkMetadata", unit: "ids" }, options.target, (voucherify) =>
    Effect.gen(function*() {
      const { field } = bulkTargets[options.target]
      const packed = metadataPacking(
        field,
        options.metadata,
        options.maxBytes ?? voucherify.maxPayloadBytes,
        options.dedupe === true,
        voucherify.maxPayloadBytes
      )
      if (packed instanceof InvalidRequestError) return yield* packed
      const { metadataJson, packing } = packed
      const description = yield* Journal.describeRun({
        target: options.target,
        field,
        metadataJson,
        maxBytes: packing.maxBytes,
        input: options.source ?? { kind: "stream" }
      })
      return {
        target: options.target,
        packing,
        description,
        send: (chunk) => voucherify.sendEncodedBulkRequest({ target: options.target, body: chunk.body, ids: chunk.size }),
        identify: { _tag: "Same", kind: "metadata", hash: contentHash(options.metadata) }
      }
    }))
