/**
 * The bulk engine's side of a journal, so that the engine is the same with one or without:
 * the run described, each packed chunk checked against a resumed journal, each outcome recorded.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { BulkTarget } from "../../VoucherifySchema.js"
import type { JournalError } from "./errors.js"
import type { ChunkFacts, InputDescription, Run } from "./format.js"
import type { AcceptedChunk } from "./plan.js"
import { checkEnd, decide } from "./plan.js"
import type { Journal, Writes } from "./writer.js"

export type { ChunkFacts, Run } from "./format.js"

const hex = (digest: ArrayBuffer): string => Buffer.from(digest).toString("hex")

/**
 * SHA-256 of some bytes, as hex. Web Crypto hashes in the thread pool (10 MB
 * in 8 to 20 ms here), while the main thread can pack the next body.
 */
export const sha256 = (bytes: Uint8Array): Effect.Effect<string> =>
  Effect.map(Effect.promise(() => crypto.subtle.digest("SHA-256", bytes)), hex)

/**
 * What a run is, for its journal: the target, the hash of the metadata's
 * JSON exactly as the bodies carry it (the values may be anything, so they
 * stay out), the body size and the input.
 */
export const describeRun = (options: {
  readonly target: BulkTarget
  readonly field: "source_ids" | "codes"
  readonly metadataJson: string
  readonly maxBytes: number
  readonly input: InputDescription
}): Effect.Effect<Run> =>
  Effect.map(sha256(new TextEncoder().encode(options.metadataJson)), (hash) => ({
    target: options.target,
    field: options.field,
    metadataSha256: hash,
    maxBytes: options.maxBytes,
    input: options.input
  }))

/**
 * What a per-record run is, for its journal: its kind, target, body size
 * and input. Each record's values are in the bodies, whose hashes the
 * journal keeps chunk by chunk.
 */
export const describeRecordsRun = (options: {
  readonly target: BulkTarget
  readonly field: "source_ids" | "codes"
  readonly maxBytes: number
  readonly input: InputDescription
}): Run => ({ kind: "records", ...options })

/** What the journal says of a packed chunk before it is sent. */
export interface Checked {
  readonly facts: ChunkFacts
  /** The acceptance a resumed journal holds for this very body: send nothing. */
  readonly held: AcceptedChunk | undefined
}

/** The engine's journal: the writer's writes, and the checks a resume makes. */
export interface Ledger extends Writes {
  /**
   * Hashes a packed chunk and compares it with what a resumed journal
   * accepted under its index. A chunk that differs fails with
   * `JournalMismatchError`. The engine checks chunks in input order, before
   * any later one can be sent.
   */
  readonly check: (chunk: Omit<ChunkFacts, "sha256"> & { readonly body: Uint8Array }) => Effect.Effect<
    Checked,
    JournalError
  >
  /** The input ended after `chunks` chunks: a journal that accepted more belongs to a longer input. */
  readonly end: (chunks: number) => Effect.Effect<void, JournalError>
}

const factsOf = (chunk: Omit<ChunkFacts, "sha256">, sha: string): ChunkFacts => ({
  index: chunk.index,
  offset: chunk.offset,
  count: chunk.count,
  bytes: chunk.bytes,
  sha256: sha
})

/** Without a journal: send everything, record nothing. */
export const noLedger: Ledger = {
  check: (chunk) => Effect.succeed({ facts: factsOf(chunk, ""), held: undefined }),
  sending: () => Effect.void,
  settled: () => Effect.void,
  finished: () => Effect.void,
  end: () => Effect.void
}

/** The ledger over a journal: starts its run, or resumes it after checking that this is the same run. */
export const ledger = (journal: Journal, resume: boolean, run: Run): Effect.Effect<Ledger, JournalError> =>
  Effect.gen(function*() {
    const { plan, writer } = resume
      ? yield* journal.resume(run)
      : { plan: undefined, writer: yield* journal.start(run) }
    return {
      check: (chunk) =>
        Effect.gen(function*() {
          const facts = factsOf(chunk, yield* sha256(chunk.body))
          if (plan === undefined) return { facts, held: undefined }
          const decision = decide(plan, facts)
          switch (decision._tag) {
            case "Skip":
              return { facts, held: decision.accepted }
            case "Send":
              return { facts, held: undefined }
            default:
              return yield* decision
          }
        }),
      sending: writer.sending,
      settled: writer.settled,
      finished: writer.finished,
      end: (chunks) => {
        const changed = plan === undefined ? undefined : checkEnd(plan, chunks)
        return changed === undefined ? Effect.void : Effect.fail(changed)
      }
    }
  })
