/**
 * What the bulk engine tells its journal, and what a resumed journal tells
 * the engine: one small interface, so that the engine stays the same with a
 * journal or without one.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { BulkChunk, BulkChunkResult, ChunkAccepted, JournalOptions } from "../BulkMetadata.js"
import * as BulkJournal from "../BulkJournal.js"
import type { BulkTarget, Metadata } from "../VoucherifySchema.js"

export interface Ledger {
  /**
   * Before a packed chunk is sent: the acceptance the journal already holds
   * for it (send nothing), or `undefined` (send it). A chunk that differs
   * from the one the journal accepted fails with `JournalMismatchError`.
   */
  readonly before: (chunk: BulkChunk) => Effect.Effect<BulkJournal.AcceptedChunk | undefined, BulkJournal.JournalError>
  /** A chunk's outcome, on the disk before this returns when it is an acceptance. */
  readonly settled: (chunk: BulkChunk, result: BulkChunkResult) => Effect.Effect<void, BulkJournal.JournalError>
  /** An awaited action reached `DONE` or `FAILED`. */
  readonly finished: (result: ChunkAccepted) => Effect.Effect<void, BulkJournal.JournalError>
  /** The input ended after `chunks` chunks: a journal that accepted more belongs to a longer input. */
  readonly end: (chunks: number) => Effect.Effect<void, BulkJournal.JournalError>
  /** Chunks the journal held as accepted when the run began. */
  readonly heldAtStart: number
}

/** Without a journal: send everything, record nothing. */
export const none: Ledger = {
  before: () => Effect.succeed(undefined),
  settled: () => Effect.void,
  finished: () => Effect.void,
  end: () => Effect.void,
  heldAtStart: 0
}

/**
 * The ledger over a journal: starts its run (or resumes it, checking that
 * this is the same run) and keeps the hash of each body sent until its
 * outcome is written.
 */
export const journaled = (
  options: JournalOptions,
  run: { readonly target: BulkTarget; readonly metadata: Metadata; readonly maxBytes: number }
): Effect.Effect<Ledger, BulkJournal.JournalError> =>
  Effect.gen(function*() {
    const description = yield* BulkJournal.describeRun({ ...run, input: options.input })
    const { plan, writer } = options.resume === true
      ? yield* options.journal.resume(description)
      : { plan: undefined, writer: yield* options.journal.start(description) }
    // the hash of each chunk between its send and its outcome
    const hashes = new Map<number, string>()
    const factsOf = (chunk: BulkChunk): BulkJournal.ChunkFacts => ({
      index: chunk.index,
      offset: chunk.offset,
      count: chunk.count,
      bytes: chunk.bytes,
      sha256: hashes.get(chunk.index) ?? ""
    })
    return {
      heldAtStart: plan?.counts.chunksAccepted ?? 0,
      before: (chunk) =>
        Effect.gen(function*() {
          const sha256 = yield* BulkJournal.sha256(chunk.body)
          hashes.set(chunk.index, sha256)
          if (plan === undefined) return yield* Effect.as(writer.chunkSent(factsOf(chunk)), undefined)
          const decision = BulkJournal.decide(plan, factsOf(chunk))
          switch (decision._tag) {
            case "Skip":
              hashes.delete(chunk.index)
              return decision.accepted
            case "Send":
              return yield* Effect.as(writer.chunkSent(factsOf(chunk)), undefined)
            default:
              return yield* decision
          }
        }),
      settled: (chunk, result) =>
        Effect.suspend(() => {
          const facts = factsOf(chunk)
          hashes.delete(chunk.index)
          switch (result._tag) {
            case "Accepted":
              return writer.chunkAccepted({ ...facts, asyncActionId: result.asyncActionId })
            case "Rejected":
              return writer.chunkRejected({ ...facts, error: result.error })
            case "Unknown":
              return writer.chunkUnknown({ ...facts, error: result.error })
          }
        }),
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
