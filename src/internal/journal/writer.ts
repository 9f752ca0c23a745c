/**
 * A journal over a `Store` (a file, or memory): starting a run, resuming
 * one, and writing its lines one at a time, accepted chunks synced.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { VoucherifyError } from "../../VoucherifyError.js"
import type { JournalCorruptError, JournalExistsError, JournalIoError, JournalMismatchError } from "./errors.js"
import type { ChunkFacts, Event, Header, Run } from "./format.js"
import { encodeLine, formatVersion } from "./format.js"
import type { ResumePlan } from "./plan.js"
import { read } from "./plan.js"

/** A chunk's outcome, as the engine settles it. */
export type Outcome =
  | { readonly _tag: "Accepted"; readonly asyncActionId: string }
  | { readonly _tag: "Rejected" | "Unknown"; readonly error: VoucherifyError }

/** The writes of a run, one for each thing it records. */
export interface Writes {
  /** A request is about to go out, after any quota wait (a resume does not need it). */
  readonly sending: (facts: ChunkFacts) => Effect.Effect<void, JournalIoError>
  /**
   * A chunk's outcome. An acceptance returns once its line is synced to the
   * disk: count the chunk as accepted only then. If it fails, Voucherify
   * has the chunk all the same; a resume sends it again, which is safe.
   */
  readonly settled: (facts: ChunkFacts, outcome: Outcome) => Effect.Effect<void, JournalIoError>
  /** An awaited action reached `DONE` or `FAILED`. */
  readonly finished: (
    action: { readonly index: number; readonly asyncActionId: string; readonly status: "DONE" | "FAILED" }
  ) => Effect.Effect<void, JournalIoError>
}

/**
 * Records a run's chunks. Lines are written one at a time, in call order,
 * and an interruption never cuts one. After a failed write every later
 * call fails with the same `JournalIoError`: the run should stop.
 */
export interface JournalWriter extends Writes {
  readonly path: string
  readonly header: Header
}

/**
 * `Journal.resume`'s result.
 */
export interface Resumed {
  readonly writer: JournalWriter
  /** An empty journal's plan has this run's header, and no chunk. */
  readonly plan: ResumePlan
}

/**
 * An opened journal.
 */
export interface Journal {
  readonly path: string
  /** Begins a new run: the journal must not exist yet. Its header is synced before this returns. */
  readonly start: (run: Run) => Effect.Effect<JournalWriter, JournalExistsError | JournalIoError>
  /**
   * Continues the journal's run: reads it into a plan, checks that `run`
   * is the run it recorded, drops a torn last line, and appends a
   * `resumed` line. An empty journal starts afresh with `run`.
   */
  readonly resume: (
    run: Run
  ) => Effect.Effect<Resumed, JournalCorruptError | JournalMismatchError | JournalIoError>
}

export interface Appender {
  /** Appends `bytes`; with `durable`, also syncs them to the disk before it returns. */
  readonly append: (bytes: Uint8Array, durable: boolean) => Effect.Effect<void, JournalIoError>
}

/** Where a journal's bytes live. */
export interface Store {
  readonly path: string
  readonly read: Effect.Effect<Uint8Array, JournalIoError>
  /** Creates the journal, which must not exist yet. */
  readonly create: Effect.Effect<Appender, JournalExistsError | JournalIoError>
  /** Opens the journal for appending after cutting it to its first `keep` bytes (of `size`). */
  readonly reopen: (keep: number, size: number) => Effect.Effect<Appender, JournalIoError>
}

const now = Effect.map(Clock.currentTimeMillis, (millis) => DateTime.unsafeMake(millis))

/** The line of a chunk's outcome. */
const settledEvent = (at: DateTime.Utc, facts: ChunkFacts, outcome: Outcome): Event => {
  switch (outcome._tag) {
    case "Accepted":
      return { type: "chunk_accepted", at, ...facts, asyncActionId: outcome.asyncActionId }
    case "Rejected":
      return { type: "chunk_rejected", at, ...facts, error: outcome.error }
    case "Unknown":
      return { type: "chunk_unknown", at, ...facts, error: outcome.error }
  }
}

/** The journal kept in `store`. */
export const make = (store: Store): Effect.Effect<Journal> =>
  Effect.gen(function*() {
    const { path } = store
    // one writer at a time, whatever the handle: lines never interleave
    const permit = yield* Effect.makeSemaphore(1)
    // After a failed write the file may end in part of a line. Writing on
    // would bury it in the middle, where a resume refuses it: stop instead.
    let broken: JournalIoError | undefined

    const append = (appender: Appender, event: Event, durable: boolean) =>
      Effect.flatMap(encodeLine(event), (bytes) =>
        Effect.suspend(() =>
          broken !== undefined
            ? Effect.fail(broken)
            : Effect.tapError(appender.append(bytes, durable), (error) => Effect.sync(() => (broken = error)))
        ).pipe(
          // an interruption must not cut a line in two, nor part a write from its sync
          Effect.uninterruptible,
          permit.withPermits(1)
        ))

    const writerOf = (appender: Appender, header: Header): JournalWriter => {
      const write = (name: string, index: number, durable: boolean, event: (at: DateTime.Utc) => Event) =>
        Effect.flatMap(now, (at) => append(appender, event(at), durable)).pipe(
          Effect.withSpan(`BulkJournal.${name}`, { attributes: { path, index } })
        )
      return {
        path,
        header,
        sending: (facts) => write("sending", facts.index, false, (at) => ({ type: "chunk_sent", at, ...facts })),
        settled: (facts, outcome) =>
          write("settled", facts.index, outcome._tag === "Accepted", (at) => settledEvent(at, facts, outcome)),
        finished: (action) => write("finished", action.index, false, (at) => ({ type: "action_finished", at, ...action }))
      }
    }

    /** A new header, on the disk before any chunk can be. */
    const begin = (appender: Appender, run: Run) =>
      Effect.gen(function*() {
        const at = yield* now
        const header: Header = { type: "run", at, version: formatVersion, runId: crypto.randomUUID(), ...run }
        yield* append(appender, header, true)
        return writerOf(appender, header)
      })

    const start = (run: Run) =>
      Effect.flatMap(store.create, (appender) => begin(appender, run)).pipe(
        Effect.withSpan("BulkJournal.start", { attributes: { path } })
      )

    const resume = (run: Run): Effect.Effect<Resumed, JournalCorruptError | JournalMismatchError | JournalIoError> =>
      Effect.gen(function*() {
        const bytes = yield* store.read
        const { accepted, header, keep } = yield* read(path, bytes, run)
        const appender = yield* store.reopen(keep, bytes.length)
        if (header === undefined) {
          // The run died before its header was durable, so before any chunk
          // was accepted: this run starts the journal afresh.
          const writer = yield* begin(appender, run)
          return { writer, plan: { path, header: writer.header, accepted } }
        }
        yield* append(appender, { type: "resumed", at: yield* now, chunksAccepted: accepted.size }, true)
        return { writer: writerOf(appender, header), plan: { path, header, accepted } }
      }).pipe(Effect.withSpan("BulkJournal.resume", { attributes: { path } }))

    return { path, start, resume }
  })
