/**
 * What the bulk engine tells its journal, and what a resumed journal tells
 * the engine: one small interface, so that the engine stays the same with a
 * journal or without one.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { BulkChunk, BulkChunkResult, ChunkAccepted, JournalOptions } from "../../BulkMetadata.js"
import * as BulkJournal from "../../BulkJournal.js"
import type { InvalidRequestError } from "../../VoucherifyError.js"
import type { BulkTarget, Metadata } from "../../VoucherifySchema.js"

/** A packed chunk as the journal knows it: its place, its size, the hash of its body. */
export type Facts = BulkJournal.ChunkFacts

/** What the journal says of a packed chunk before it is sent. */
export interface Checked {
  readonly facts: Facts
  /** The acceptance a resumed journal holds for this very body: send nothing. */
  readonly held: BulkJournal.AcceptedChunk | undefined
}

export interface Ledger {
  /**
   * Hashes a packed chunk and compares it with what a resumed journal
   * accepted under its index. A chunk that differs fails with
   * `JournalMismatchError`. The engine checks chunks in input order, before
   * any later one can be sent.
   */
  readonly check: (chunk: BulkChunk) => Effect.Effect<Checked, BulkJournal.JournalError>
  /** A request is about to go out (after any quota wait). */
  readonly sending: (facts: Facts) => Effect.Effect<void, BulkJournal.JournalError>
  /** A chunk's outcome, on the disk before this returns when it is an acceptance. */
  readonly settled: (facts: Facts, result: BulkChunkResult) => Effect.Effect<void, BulkJournal.JournalError>
  /** An awaited action reached `DONE` or `FAILED`. */
  readonly finished: (result: ChunkAccepted) => Effect.Effect<void, BulkJournal.JournalError>
  /** The input ended after `chunks` chunks: a journal that accepted more belongs to a longer input. */
  readonly end: (chunks: number) => Effect.Effect<void, BulkJournal.JournalError>
}

const placeOf = (chunk: BulkChunk, sha256: string): Facts => ({
  index: chunk.index,
  offset: chunk.offset,
  count: chunk.count,
  bytes: chunk.bytes,
  sha256
})

/** Without a journal: send everything, record nothing. */
export const none: Ledger = {
  check: (chunk) => Effect.succeed({ facts: placeOf(chunk, ""), held: undefined }),
  sending: () => Effect.void,
  settled: () => Effect.void,
  finished: () => Effect.void,
  end: () => Effect.void
}

/**
 * The ledger over a journal: starts its run, or resumes it after checking
 * that this is the same run. `metadata` has been checked by the caller.
 */
export const journaled = (
  options: JournalOptions,
  run: { readonly target: BulkTarget; readonly metadata: Metadata; readonly maxBytes: number }
): Effect.Effect<Ledger, BulkJournal.JournalError | InvalidRequestError> =>
  Effect.gen(function*() {
    const description = yield* BulkJournal.describeRun({ ...run, input: options.input })
    const { plan, writer } = options.resume === true
      ? yield* options.journal.resume(description)
      : { plan: undefined, writer: yield* options.journal.start(description) }
    return {
      check: (chunk) =>
        Effect.gen(function*() {
          const facts = placeOf(chunk, yield* BulkJournal.sha256(chunk.body))
          if (plan === undefined) return { facts, held: undefined }
          const decision = BulkJournal.decide(plan, facts)
          switch (decision._tag) {
            case "Skip":
              return { facts, held: decision.accepted }
            case "Send":
              return { facts, held: undefined }
            default:
              return yield* decision
          }
        }),
      sending: writer.chunkSent,
      settled: (facts, result) => {
        switch (result._tag) {
          case "Accepted":
            return writer.chunkAccepted({ ...facts, asyncActionId: result.asyncActionId })
          case "Rejected":
            return writer.chunkRejected({ ...facts, error: result.error })
          case "Unknown":
            return writer.chunkUnknown({ ...facts, error: result.error })
        }
      },
      finished: (result) =>
        result.status === "DONE" || result.status === "FAILED"
          ? writer.actionFinished({ index: result.index, asyncActionId: result.asyncActionId, status: result.status })
          : Effect.void,
      end: (chunks) => {
        const changed = plan === undefined ? undefined : BulkJournal.checkEnd(plan, chunks)
        return changed === undefined ? Effect.void : Effect.fail(changed)
      }
    }
  })
