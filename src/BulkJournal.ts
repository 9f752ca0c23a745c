/**
 * The journal of a bulk run: an append-only file, one JSON line an event,
 * that records what the run is (target, metadata hash, `maxBytes`, input)
 * and what became of each chunk, so that a run that dies (`kill -9`, a
 * closed laptop, a CI timeout) can be resumed without sending an accepted
 * chunk again.
 *
 * - {@link file} opens a journal on a `FileSystem` and locks it for the
 *   scope; {@link memory} keeps one in memory, for tests.
 * - {@link Journal.start} begins a new run, {@link Journal.resume} continues
 *   one and returns its {@link ResumePlan}; both give the
 *   {@link JournalWriter} that records each chunk. An accepted chunk's line
 *   is synced to the disk before {@link JournalWriter.chunkAccepted}
 *   returns, so a crash loses at most the chunks still in flight.
 * - {@link decide} tells, for each chunk packed again, whether the plan
 *   holds it as accepted (skip it), not (send it), or with another body
 *   (stop: the input changed).
 *
 * The journal holds no credential and no metadata value, only the
 * metadata's SHA-256.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { BulkJournal } from "effect-voucherify"
 *
 * const program = Effect.gen(function*() {
 *   const run = yield* BulkJournal.describeRun({
 *     target: "products",
 *     metadata: { season: "summer" },
 *     maxBytes: 10_485_760,
 *     input: { kind: "stdin" }
 *   })
 *   const journal = yield* BulkJournal.file("run.journal")
 *   const { plan, writer } = yield* journal.resume(run)
 *   yield* Effect.log(`${plan.counts.chunksAccepted} chunks were accepted before; writing to ${writer.path}`)
 * }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/journal/journal.js"
import type { InvalidRequestError, VoucherifyError } from "./VoucherifyError.js"
import type { BulkTarget, Metadata } from "./VoucherifySchema.js"

/**
 * The version of the line format, in every journal's `run` line.
 *
 * @since 0.1.0
 * @category constants
 */
export const formatVersion: typeof internal.formatVersion = internal.formatVersion

/**
 * Where a run's ids come from. A file is identified by its path (as given:
 * resume with the same path), size and modification time; stdin and other
 * streams cannot be checked, so only the chunks' hashes guard them.
 *
 * @since 0.1.0
 * @category models
 */
export type InputDescription = typeof internal.InputDescription.Type

/**
 * What a run is: what a resume must match, field by field.
 *
 * @since 0.1.0
 * @category models
 */
export type RunDescription = typeof internal.RunDescription.Type

/**
 * The first line of a journal: the {@link RunDescription}, the format
 * version, a run id, and when the run began (`at`).
 *
 * @since 0.1.0
 * @category models
 */
export type JournalHeader = typeof internal.RunEvent.Type

/**
 * One line of a journal: `run`, `resumed`, `chunk_sent`, `chunk_accepted`,
 * `chunk_rejected`, `chunk_unknown` or `action_finished`, each with its
 * `type` and its ISO timestamp `at`. Lines are decoded with this schema
 * (the file is untrusted input) and encoded with it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JournalEvent: typeof internal.JournalEvent = internal.JournalEvent

/**
 * @since 0.1.0
 * @category models
 */
export type JournalEvent = typeof internal.JournalEvent.Type

/**
 * A packed chunk as the journal knows it (no ids, no body: its hash).
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkFacts {
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
  /** {@link sha256} of the body, hex. */
  readonly sha256: string
}

/**
 * A chunk the journal holds as accepted.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcceptedChunk extends ChunkFacts {
  readonly asyncActionId: string
  /** How its action ended, when the run followed it that far. */
  readonly finalStatus?: "DONE" | "FAILED" | undefined
}

/**
 * What a journal held, chunk by chunk (a chunk counts once, by its last
 * outcome; an accepted chunk stays accepted).
 *
 * @since 0.1.0
 * @category models
 */
export interface PlanCounts {
  /** Complete, valid lines read. */
  readonly lines: number
  readonly chunksAccepted: number
  readonly idsAccepted: number
  /** Refused and never accepted. */
  readonly chunksRejected: number
  /** Of unknown fate and never accepted. */
  readonly chunksUnknown: number
  /** Sent without any outcome recorded: in flight when the run died. */
  readonly chunksInFlight: number
  /** Accepted chunks whose action was followed to `DONE` or `FAILED`. */
  readonly actionsFinished: number
  /** How many times the run was resumed before. */
  readonly resumes: number
}

/**
 * A journal read back: which chunks need not be sent again.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResumePlan {
  readonly path: string
  /** `undefined` only from {@link readPlan} on an empty journal: the run died before its header was on the disk. */
  readonly header: JournalHeader | undefined
  /** By chunk index. */
  readonly accepted: ReadonlyMap<number, AcceptedChunk>
  readonly counts: PlanCounts
  /** Whether the last line was cut short (a crash while writing it) and left out. */
  readonly tornTail: boolean
}

/**
 * Records a run's chunks. Lines are written one at a time, in call order,
 * and an interruption never cuts one. After a failed write every later
 * call fails with the same {@link JournalIoError}: the run should stop.
 *
 * @since 0.1.0
 * @category models
 */
export interface JournalWriter {
  readonly path: string
  readonly header: JournalHeader
  /** A request is about to go out (optional: resume does not need it). */
  readonly chunkSent: (chunk: ChunkFacts) => Effect.Effect<void, JournalIoError>
  /**
   * Voucherify accepted the chunk. Returns once the line is synced to the
   * disk: count the chunk as accepted only then. If it fails, Voucherify
   * has the chunk all the same; a resume sends it again, which is safe.
   */
  readonly chunkAccepted: (
    chunk: ChunkFacts & { readonly asyncActionId: string }
  ) => Effect.Effect<void, JournalIoError>
  readonly chunkRejected: (
    chunk: ChunkFacts & { readonly error: VoucherifyError }
  ) => Effect.Effect<void, JournalIoError>
  /** `error` is absent when the run stopped with the request in flight. */
  readonly chunkUnknown: (
    chunk: ChunkFacts & { readonly error?: VoucherifyError | undefined }
  ) => Effect.Effect<void, JournalIoError>
  readonly actionFinished: (action: {
    readonly index: number
    readonly asyncActionId: string
    readonly status: "DONE" | "FAILED"
  }) => Effect.Effect<void, JournalIoError>
}

/**
 * {@link Journal.resume}'s result.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resumed {
  readonly writer: JournalWriter
  /** Its `header` is always set: an empty journal gets this run's. */
  readonly plan: ResumePlan
}

/**
 * An opened journal.
 *
 * @since 0.1.0
 * @category models
 */
export interface Journal {
  readonly path: string
  /** Begins a new run: the journal must not exist yet. Its header is synced before this returns. */
  readonly start: (run: RunDescription) => Effect.Effect<JournalWriter, JournalExistsError | JournalIoError>
  /**
   * Continues the journal's run: reads it into a plan, checks that `run`
   * is the run it recorded, drops a torn last line, and appends a
   * `resumed` line. An empty journal starts afresh with `run`.
   */
  readonly resume: (
    run: RunDescription
  ) => Effect.Effect<Resumed, JournalCorruptError | JournalMismatchError | JournalIoError>
}

/**
 * A journal in memory: the same lines, in a `Ref`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryJournal extends Journal {
  /** The journal's text, as a file would hold it (empty while it does not exist). */
  readonly text: Effect.Effect<string>
}

/**
 * What to do with a chunk packed again on resume.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "Skip"; readonly accepted: AcceptedChunk }
  | { readonly _tag: "Send" }
  | JournalMismatchError

/**
 * The journal is in use: another process holds `<journal>.lock`, or this
 * one opened it twice. A lock whose process no longer runs is taken over.
 *
 * @since 0.1.0
 * @category errors
 */
export const JournalLockedError: typeof internal.JournalLockedError = internal.JournalLockedError

/**
 * @since 0.1.0
 * @category errors
 */
export type JournalLockedError = internal.JournalLockedError

/**
 * {@link Journal.start} on a journal that already exists.
 *
 * @since 0.1.0
 * @category errors
 */
export const JournalExistsError: typeof internal.JournalExistsError = internal.JournalExistsError

/**
 * @since 0.1.0
 * @category errors
 */
export type JournalExistsError = internal.JournalExistsError

/**
 * A line other than a torn last one is not a journal event; `line` names it
 * (1 for the first).
 *
 * @since 0.1.0
 * @category errors
 */
export const JournalCorruptError: typeof internal.JournalCorruptError = internal.JournalCorruptError

/**
 * @since 0.1.0
 * @category errors
 */
export type JournalCorruptError = internal.JournalCorruptError

/**
 * The run is not the one the journal recorded: `field` changed from
 * `journal` to `run` (`maxBytes`, `metadataSha256`, `input.size`…; with
 * `chunk`, that chunk's `sha256`, `offset`, `count` or `bytes`).
 *
 * @since 0.1.0
 * @category errors
 */
export const JournalMismatchError: typeof internal.JournalMismatchError = internal.JournalMismatchError

/**
 * @since 0.1.0
 * @category errors
 */
export type JournalMismatchError = internal.JournalMismatchError

/**
 * The file system refused an operation on the journal or its lock;
 * `reason` is the platform's (`NotFound` for a journal to resume that does
 * not exist).
 *
 * @since 0.1.0
 * @category errors
 */
export const JournalIoError: typeof internal.JournalIoError = internal.JournalIoError

/**
 * @since 0.1.0
 * @category errors
 */
export type JournalIoError = internal.JournalIoError

/**
 * Every error of a journal.
 *
 * @since 0.1.0
 * @category errors
 */
export type JournalError =
  | JournalLockedError
  | JournalExistsError
  | JournalCorruptError
  | JournalMismatchError
  | JournalIoError

/**
 * Opens the journal at `path` for the scope, holding `<path>.lock` (created
 * exclusively, with this process's id) until the scope closes. A lock left by
 * a process that no longer runs on this machine (a crash, a `kill -9`) is
 * taken over; any other lock fails with {@link JournalLockedError}. The lock
 * guards against a second run on the same journal by mistake; it assumes
 * one machine (a process id means nothing on another host).
 *
 * @since 0.1.0
 * @category constructors
 */
export const file: (
  path: string
) => Effect.Effect<Journal, JournalLockedError | JournalIoError, FileSystem.FileSystem | Scope.Scope> = internal.file

/**
 * A journal in memory, for tests: `text` is an existing journal's content,
 * omitted for one that does not exist yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory: (text?: string) => Effect.Effect<MemoryJournal> = internal.memory

/**
 * Reads the journal at `path` into a plan without locking or changing it,
 * and checks it against `run`, as {@link Journal.resume} does.
 *
 * @since 0.1.0
 * @category reading
 */
export const readPlan: (
  path: string,
  run: RunDescription
) => Effect.Effect<ResumePlan, JournalCorruptError | JournalMismatchError | JournalIoError, FileSystem.FileSystem> =
  internal.readPlan

/**
 * For a chunk packed again on resume (packing is deterministic, so chunk
 * `n` has the same bytes if the input and the metadata did not change):
 * `Skip` when the plan holds it as accepted with the same hash and range,
 * `Send` when the plan does not hold it as accepted, and a
 * {@link JournalMismatchError} naming the chunk when its hash or range
 * differ, which should stop the run before anything more is sent.
 *
 * @since 0.1.0
 * @category resuming
 */
export const decide: (plan: ResumePlan, chunk: ChunkFacts) => Decision = internal.decide

/**
 * After the last chunk was packed: a {@link JournalMismatchError} if the plan
 * holds an accepted chunk beyond the `chunks` packed now (the input
 * shrank on a chunk boundary, which {@link decide} cannot see).
 *
 * @since 0.1.0
 * @category resuming
 */
export const checkEnd: (plan: ResumePlan, chunks: number) => JournalMismatchError | undefined = internal.checkEnd

/**
 * SHA-256 of a chunk's body, as hex, with Web Crypto. On Node a 10 MB body
 * takes 8 to 20 ms, off the main thread: a tenth or so of packing it.
 *
 * @since 0.1.0
 * @category hashing
 */
export const sha256: (bytes: Uint8Array) => Effect.Effect<string> = internal.sha256

/**
 * SHA-256 of the metadata's canonical JSON (object keys sorted): what the
 * journal keeps instead of the metadata, which may hold anything. Metadata
 * that JSON cannot encode faithfully (a BigInt, an `undefined`, a cycle)
 * fails with `InvalidRequestError`, as a bulk request with it would.
 *
 * @since 0.1.0
 * @category hashing
 */
export const metadataSha256: (metadata: Metadata) => Effect.Effect<string, InvalidRequestError> =
  internal.metadataSha256

/**
 * The {@link RunDescription} of a run: the target's body field, the
 * metadata's hash; `input` defaults to `{ kind: "stream" }`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const describeRun: (options: {
  readonly target: BulkTarget
  readonly metadata: Metadata
  readonly maxBytes: number
  readonly input?: InputDescription | undefined
}) => Effect.Effect<RunDescription, InvalidRequestError> = internal.describeRun
