/**
 * The bulk journal: an append-only file of JSON lines that says what a run
 * is and what became of each of its chunks, so that a run killed at any
 * moment can be resumed without sending an accepted chunk again.
 *
 * One `Store` abstraction (a file through `FileSystem`, or memory) carries
 * the bytes; everything else (encoding, ordering, durability of accepted
 * chunks, reading a journal back into a plan) is written once over it.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { VoucherifyError } from "../../VoucherifyError.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import { isPlainObject } from "../bulk/payload.js"
import * as Lock from "./lock.js"

// ---------------------------------------------------------------------------
// Errors

/** The journal is used by a live process (or by this one, opened twice). */
export class JournalLockedError extends Schema.TaggedError<JournalLockedError>()("JournalLockedError", {
  /** The journal. */
  path: Schema.String,
  /** The lock file that holds it: `<journal>.lock`. */
  lockPath: Schema.String,
  /** The process the lock file names; absent when it names none. */
  pid: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.pid === undefined
      ? `the journal ${this.path} is locked: ${this.lockPath} names no process; ` +
        `if no run uses the journal, remove ${this.lockPath}`
      : `the journal ${this.path} is in use by process ${this.pid} (lock file ${this.lockPath}); ` +
        `if that process is not a run on this journal, remove ${this.lockPath}`
  }
}

/** A new run was to start a journal that already exists. */
export class JournalExistsError extends Schema.TaggedError<JournalExistsError>()("JournalExistsError", {
  path: Schema.String
}) {
  override get message(): string {
    return `the journal ${this.path} already exists: resume its run, or choose another path`
  }
}

/** A line of the journal, other than a torn last one, is not a journal event. */
export class JournalCorruptError extends Schema.TaggedError<JournalCorruptError>()("JournalCorruptError", {
  path: Schema.String,
  /** 1 for the first line. */
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `the journal ${this.path} is corrupt at line ${this.line}: ${this.reason}`
  }
}

/**
 * The run to resume is not the run the journal recorded: `field` says what
 * changed (`maxBytes`, `input.size`…, or, with `chunk`, a field of that
 * chunk), `journal` and `run` its value in the journal and now.
 */
export class JournalMismatchError extends Schema.TaggedError<JournalMismatchError>()("JournalMismatchError", {
  path: Schema.String,
  field: Schema.String,
  journal: Schema.String,
  run: Schema.String,
  /** The index of the chunk that differs, for a chunk's field. */
  chunk: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.chunk === undefined
      ? `the journal ${this.path} records another run: its ${this.field} is ${this.journal}, this run's is ${this.run}`
      : `chunk ${this.chunk} is not the one the journal ${this.path} holds as accepted: its ${this.field} was ` +
        `${this.journal}, is now ${this.run} (the ids or the metadata changed since)`
  }
}

/** The file system refused an operation on the journal or its lock. */
export class JournalIoError extends Schema.TaggedError<JournalIoError>()("JournalIoError", {
  path: Schema.String,
  operation: Schema.Literal("read", "create", "open", "truncate", "write", "sync", "lock"),
  /** The platform's reason: `NotFound`, `PermissionDenied`, `BadArgument`… */
  reason: Schema.String,
  description: Schema.String
}) {
  override get message(): string {
    return `cannot ${this.operation} the journal ${this.path}: ${this.description}`
  }
}

const ioError = (path: string, operation: JournalIoError["operation"]) => (error: PlatformError) =>
  new JournalIoError({
    path,
    operation,
    reason: error._tag === "SystemError" ? error.reason : error._tag,
    description: error.message
  })

const isAlreadyExists = (error: PlatformError) => error._tag === "SystemError" && error.reason === "AlreadyExists"

// ---------------------------------------------------------------------------
// The format

/** The version of the line format that this code writes and reads. */
export const formatVersion = 1

const Sha256 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/), Schema.annotations({ identifier: "Sha256" }))
const Natural = Schema.NonNegativeInt
const At = Schema.DateTimeUtc
const FinalStatus = Schema.Literal("DONE", "FAILED")

export const InputDescription = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("file"),
    /** As the run was given it: resuming must name the file the same way. */
    path: Schema.String,
    size: Natural,
    mtimeMs: Schema.Number
  }),
  Schema.Struct({ kind: Schema.Literal("stdin") }),
  Schema.Struct({ kind: Schema.Literal("stream") })
)

export const RunDescription = Schema.Struct({
  /**
   * `records` for a per-record run; absent for a metadata run (every
   * journal written before per-record runs existed), so that neither kind
   * can resume the other's journal.
   */
  kind: Schema.optional(Schema.Literal("records")),
  target: Schema.Literal("products", "customers", "vouchers"),
  field: Schema.Literal("source_ids", "codes"),
  /**
   * A metadata run's SHA-256 of the metadata's canonical JSON: the values
   * themselves may be anything, so they stay out. A per-record run has none:
   * its values are in the bodies, which the chunks' hashes cover.
   */
  metadataSha256: Schema.optional(Sha256),
  maxBytes: Schema.Positive.pipe(Schema.int()),
  input: InputDescription
})

const chunkFields = { index: Natural, offset: Natural, count: Natural, bytes: Natural, sha256: Sha256 }

// `type` first and `at` second in every struct: encoding keeps the field
// order, so `jq` and a person see what a line is before its details.
export const RunEvent = Schema.Struct({
  type: Schema.Literal("run"),
  at: At,
  version: Schema.Literal(formatVersion),
  runId: Schema.NonEmptyString,
  ...RunDescription.fields
})

export const JournalEvent = Schema.Union(
  RunEvent,
  Schema.Struct({ type: Schema.Literal("resumed"), at: At, chunksAccepted: Natural }),
  Schema.Struct({ type: Schema.Literal("chunk_sent"), at: At, ...chunkFields }),
  Schema.Struct({
    type: Schema.Literal("chunk_accepted"),
    at: At,
    ...chunkFields,
    asyncActionId: Schema.NonEmptyString
  }),
  Schema.Struct({ type: Schema.Literal("chunk_rejected"), at: At, ...chunkFields, error: VoucherifyError }),
  Schema.Struct({
    type: Schema.Literal("chunk_unknown"),
    at: At,
    ...chunkFields,
    error: Schema.optional(VoucherifyError)
  }),
  Schema.Struct({
    type: Schema.Literal("action_finished"),
    at: At,
    index: Natural,
    asyncActionId: Schema.NonEmptyString,
    status: FinalStatus
  })
)

type Event = typeof JournalEvent.Type
export type Header = typeof RunEvent.Type
export type Run = typeof RunDescription.Type
export type InputDescription = typeof InputDescription.Type

// ---------------------------------------------------------------------------
// The model

/**
 * A packed chunk as the journal knows it (no ids, no body: its hash).
 */
export interface ChunkFacts {
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
  /** `sha256` of the body, hex. */
  readonly sha256: string
}

/**
 * A chunk the journal holds as accepted.
 */
export interface AcceptedChunk extends ChunkFacts {
  readonly asyncActionId: string
  /** How its action ended, when the run followed it that far. */
  readonly finalStatus?: "DONE" | "FAILED" | undefined
}

/**
 * What a journal held, chunk by chunk (a chunk counts once, by its last
 * outcome; an accepted chunk stays accepted).
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
 */
export interface ResumePlan {
  readonly path: string
  /** `undefined` only from `readPlan` on an empty journal: the run died before its header was on the disk. */
  readonly header: Header | undefined
  /** By chunk index. */
  readonly accepted: ReadonlyMap<number, AcceptedChunk>
  readonly counts: PlanCounts
  /** Whether the last line was cut short (a crash while writing it) and left out. */
  readonly tornTail: boolean
}

/**
 * Records a run's chunks. Lines are written one at a time, in call order,
 * and an interruption never cuts one. After a failed write every later
 * call fails with the same `JournalIoError`: the run should stop.
 */
export interface JournalWriter {
  readonly path: string
  readonly header: Header
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
 * `Journal.resume`'s result.
 */
export interface Resumed {
  readonly writer: JournalWriter
  /** Its `header` is always set: an empty journal gets this run's. */
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

/**
 * A journal in memory: the same lines, in a `Ref`.
 */
export interface MemoryJournal extends Journal {
  /** The journal's text, as a file would hold it (empty while it does not exist). */
  readonly text: Effect.Effect<string>
}

/**
 * What to do with a chunk packed again on resume.
 */
export type Decision =
  | { readonly _tag: "Skip"; readonly accepted: AcceptedChunk }
  | { readonly _tag: "Send" }
  | JournalMismatchError


const encodeEvent = Schema.encode(JournalEvent)
const decodeEvent = Schema.decodeUnknownEither(JournalEvent)
const encoder = new TextEncoder()
const utf8 = new TextDecoder("utf-8", { fatal: true })

/** One line: the event's JSON and a newline. A value our own types allow but the schema refuses is a bug. */
const encodeLine = (event: Event): Effect.Effect<Uint8Array> =>
  Effect.map(Effect.orDie(encodeEvent(event)), (json) => encoder.encode(`${JSON.stringify(json)}\n`))

// ---------------------------------------------------------------------------
// Hashes

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
  Effect.map(sha256(encoder.encode(options.metadataJson)), (hash) => ({
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

// ---------------------------------------------------------------------------
// Reading a journal back

interface Parsed {
  readonly header: Header | undefined
  readonly accepted: ReadonlyMap<number, AcceptedChunk>
  readonly counts: PlanCounts
  /** Bytes of complete, valid lines: what a resume keeps. */
  readonly keep: number
  readonly tornTail: boolean
}

/** Folds the events, line by line, into what a resume needs. */
class PlanBuilder {
  header: Header | undefined
  readonly accepted = new Map<number, { chunk: AcceptedChunk; line: number }>()
  /** The last outcome of chunks that were not accepted. */
  readonly outcomes = new Map<number, "rejected" | "unknown">()
  readonly sent = new Set<number>()
  resumes = 0
  lines = 0

  constructor(private readonly path: string) {}

  private corrupt(line: number, reason: string) {
    return new JournalCorruptError({ path: this.path, line, reason })
  }

  add(line: number, event: Event): JournalCorruptError | undefined {
    this.lines = line
    if (line === 1) {
      if (event.type !== "run") return this.corrupt(line, `the first line must be the "run" event, not "${event.type}"`)
      this.header = event
      return undefined
    }
    switch (event.type) {
      case "run":
        return this.corrupt(line, `a second "run" event: a journal records one run`)
      case "resumed":
        this.resumes++
        return undefined
      case "chunk_sent":
        // sent again after a refusal: in flight until a later line says otherwise
        this.sent.add(event.index)
        if (this.outcomes.get(event.index) !== undefined) this.outcomes.delete(event.index)
        return undefined
      case "chunk_accepted": {
        const { type: _, at: __, ...chunk } = event
        const seen = this.accepted.get(event.index)
        if (seen === undefined) {
          this.accepted.set(event.index, { chunk, line })
          this.outcomes.delete(event.index)
        } else if (seen.chunk.sha256 !== event.sha256) {
          return this.corrupt(line, `chunk ${event.index} was accepted on line ${seen.line} with another body`)
        }
        return undefined
      }
      case "chunk_rejected":
      case "chunk_unknown":
        // ids once accepted stay applied, whatever a later attempt says
        if (!this.accepted.has(event.index)) {
          this.outcomes.set(event.index, event.type === "chunk_rejected" ? "rejected" : "unknown")
        }
        return undefined
      case "action_finished": {
        const seen = this.accepted.get(event.index)
        if (seen === undefined || seen.chunk.asyncActionId !== event.asyncActionId) {
          return this.corrupt(
            line,
            `action ${event.asyncActionId} finished for chunk ${event.index}, ` +
              "which no earlier line accepted with that action"
          )
        }
        seen.chunk = { ...seen.chunk, finalStatus: event.status }
        return undefined
      }
    }
  }

  result(keep: number, tornTail: boolean): Parsed {
    const accepted = new Map<number, AcceptedChunk>()
    let idsAccepted = 0
    let actionsFinished = 0
    for (const [index, { chunk }] of this.accepted) {
      accepted.set(index, chunk)
      idsAccepted += chunk.count
      if (chunk.finalStatus !== undefined) actionsFinished++
    }
    let rejected = 0
    for (const outcome of this.outcomes.values()) if (outcome === "rejected") rejected++
    let inFlight = 0
    for (const index of this.sent) if (!accepted.has(index) && !this.outcomes.has(index)) inFlight++
    return {
      header: this.header,
      accepted,
      counts: {
        lines: this.lines,
        chunksAccepted: accepted.size,
        idsAccepted,
        chunksRejected: rejected,
        chunksUnknown: this.outcomes.size - rejected,
        chunksInFlight: inFlight,
        actionsFinished,
        resumes: this.resumes
      },
      keep,
      tornTail
    }
  }
}

/** The JSON value of a line, or `undefined` for a line that is not UTF-8 JSON. */
const jsonOf = (bytes: Uint8Array): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(utf8.decode(bytes)) }
  } catch {
    return undefined
  }
}

const notJsonReason = (bytes: Uint8Array): string => {
  try {
    return utf8.decode(bytes).trim() === "" ? "an empty line" : "not JSON"
  } catch {
    return "not UTF-8 text"
  }
}

const schemaReason = (error: ParseResult.ParseError, json: unknown): string => {
  // a newer library's journal: say so rather than list the fields that differ
  const version = isPlainObject(json) && json.type === "run" ? json.version : undefined
  if (typeof version === "number" && version !== formatVersion) {
    return `format version ${version}; this version of effect-voucherify reads version ${formatVersion}`
  }
  // the first issue, with its path: the whole tree lists every event type
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return `not a journal event: ${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`
}

/**
 * Reads a journal's bytes. A last line that is not JSON, or that lacks its
 * newline, is the write a crash cut short: it is left out (and `keep` stops
 * before it). Any other line that is not an event fails with its number.
 */
export const parse = (path: string, bytes: Uint8Array): Either.Either<Parsed, JournalCorruptError> => {
  const builder = new PlanBuilder(path)
  let start = 0
  let line = 0
  for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a, start)) {
    line++
    const json = jsonOf(bytes.subarray(start, end))
    if (json === undefined) {
      if (end === bytes.length - 1) return Either.right(builder.result(start, true))
      return Either.left(new JournalCorruptError({ path, line, reason: notJsonReason(bytes.subarray(start, end)) }))
    }
    const event = decodeEvent(json.value)
    if (Either.isLeft(event)) {
      return Either.left(new JournalCorruptError({ path, line, reason: schemaReason(event.left, json.value) }))
    }
    const error = builder.add(line, event.right)
    if (error !== undefined) return Either.left(error)
    start = end + 1
  }
  return Either.right(builder.result(start, start < bytes.length))
}

const describeValue = (value: unknown): string => (value === undefined ? "none" : String(value))

/** The first field in which the run to resume differs from the journal's. */
const compareRun = (path: string, journal: Run, run: Run): JournalMismatchError | undefined => {
  const mismatch = (field: string, was: unknown, now: unknown) =>
    new JournalMismatchError({ path, field, journal: describeValue(was), run: describeValue(now) })
  // a journal of before per-record runs has no kind: it is a metadata run's
  const kind = (description: Run) => description.kind ?? "metadata"
  if (kind(journal) !== kind(run)) return mismatch("kind", kind(journal), kind(run))
  for (const field of ["target", "field", "metadataSha256", "maxBytes"] as const) {
    if (journal[field] !== run[field]) return mismatch(field, journal[field], run[field])
  }
  const was: Readonly<Record<string, unknown>> = journal.input
  const now: Readonly<Record<string, unknown>> = run.input
  for (const key of ["kind", "path", "size", "mtimeMs"]) {
    if (was[key] !== now[key]) return mismatch(`input.${key}`, was[key], now[key])
  }
  return undefined
}

const toPlan = (path: string, parsed: Parsed): ResumePlan => ({
  path,
  header: parsed.header,
  accepted: parsed.accepted,
  counts: parsed.counts,
  tornTail: parsed.tornTail
})

/** Parses and checks a journal against the run that wants to resume it. */
const plan = (
  path: string,
  bytes: Uint8Array,
  run: Run
): Effect.Effect<Parsed, JournalCorruptError | JournalMismatchError> =>
  Effect.flatMap(parse(path, bytes), (parsed) => {
    const mismatch = parsed.header === undefined ? undefined : compareRun(path, parsed.header, run)
    return mismatch === undefined ? Effect.succeed(parsed) : Effect.fail(mismatch)
  })

export const readPlan = (
  path: string,
  run: Run
): Effect.Effect<ResumePlan, JournalCorruptError | JournalMismatchError | JournalIoError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* Effect.mapError(fs.readFile(path), ioError(path, "read"))
    return toPlan(path, yield* plan(path, bytes, run))
  }).pipe(Effect.withSpan("BulkJournal.readPlan"))

const send: Decision = { _tag: "Send" }

export const decide = (plan: ResumePlan, chunk: ChunkFacts): Decision => {
  const accepted = plan.accepted.get(chunk.index)
  if (accepted === undefined) return send
  for (const field of ["sha256", "offset", "count", "bytes"] as const) {
    if (accepted[field] !== chunk[field]) {
      return new JournalMismatchError({
        path: plan.path,
        field,
        journal: String(accepted[field]),
        run: String(chunk[field]),
        chunk: chunk.index
      })
    }
  }
  return { _tag: "Skip", accepted }
}

export const checkEnd = (plan: ResumePlan, chunks: number): JournalMismatchError | undefined => {
  let beyond = -1
  for (const index of plan.accepted.keys()) if (index >= chunks && index > beyond) beyond = index
  return beyond === -1 ? undefined : new JournalMismatchError({
    path: plan.path,
    field: "chunks",
    journal: `at least ${beyond + 1}`,
    run: String(chunks)
  })
}

// ---------------------------------------------------------------------------
// Writing

interface Appender {
  /** Appends `bytes`; with `durable`, also syncs them to the disk before it returns. */
  readonly append: (bytes: Uint8Array, durable: boolean) => Effect.Effect<void, JournalIoError>
}

/** Where a journal's bytes live. */
interface Store {
  readonly path: string
  readonly read: Effect.Effect<Uint8Array, JournalIoError>
  /** Creates the journal, which must not exist yet. */
  readonly create: Effect.Effect<Appender, JournalExistsError | JournalIoError>
  /** Opens the journal for appending after cutting it to its first `keep` bytes (of `size`). */
  readonly reopen: (keep: number, size: number) => Effect.Effect<Appender, JournalIoError>
}

const now = Effect.map(Clock.currentTimeMillis, (millis) => DateTime.unsafeMake(millis))

const facts = (chunk: ChunkFacts): ChunkFacts => ({
  index: chunk.index,
  offset: chunk.offset,
  count: chunk.count,
  bytes: chunk.bytes,
  sha256: chunk.sha256
})

const make = (store: Store): Effect.Effect<Journal> =>
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
        chunkSent: (chunk) =>
          write("chunkSent", chunk.index, false, (at) => ({ type: "chunk_sent", at, ...facts(chunk) })),
        chunkAccepted: (chunk) =>
          write("chunkAccepted", chunk.index, true, (at) => ({
            type: "chunk_accepted",
            at,
            ...facts(chunk),
            asyncActionId: chunk.asyncActionId
          })),
        chunkRejected: (chunk) =>
          write("chunkRejected", chunk.index, false, (at) => ({
            type: "chunk_rejected",
            at,
            ...facts(chunk),
            error: chunk.error
          })),
        chunkUnknown: (chunk) =>
          write("chunkUnknown", chunk.index, false, (at) => ({
            type: "chunk_unknown",
            at,
            ...facts(chunk),
            ...(chunk.error === undefined ? {} : { error: chunk.error })
          })),
        actionFinished: (action) =>
          write("actionFinished", action.index, false, (at) => ({
            type: "action_finished",
            at,
            index: action.index,
            asyncActionId: action.asyncActionId,
            status: action.status
          }))
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
        const parsed = yield* plan(path, bytes, run)
        const appender = yield* store.reopen(parsed.keep, bytes.length)
        if (parsed.header === undefined) {
          // The run died before its header was durable, so before any chunk
          // was accepted: this run starts the journal afresh.
          const writer = yield* begin(appender, run)
          return { writer, plan: { ...toPlan(path, parsed), header: writer.header } }
        }
        yield* append(appender, { type: "resumed", at: yield* now, chunksAccepted: parsed.counts.chunksAccepted }, true)
        return { writer: writerOf(appender, parsed.header), plan: toPlan(path, parsed) }
      }).pipe(Effect.withSpan("BulkJournal.resume", { attributes: { path } }))

    return { path, start, resume }
  })

// ---------------------------------------------------------------------------
// On a file system

const fileAppender = (path: string) => (file: FileSystem.File): Appender => ({
  append: (bytes, durable) =>
    Effect.zipRight(
      Effect.mapError(file.writeAll(bytes), ioError(path, "write")),
      durable ? Effect.mapError(file.sync, ioError(path, "sync")) : Effect.void
    )
})

const fileStore = (fs: FileSystem.FileSystem, path: string, scope: Scope.Scope): Store => {
  const open = (flag: "ax" | "a") => Scope.extend(fs.open(path, { flag }), scope)
  return {
    path,
    read: Effect.mapError(fs.readFile(path), ioError(path, "read")),
    create: open("ax").pipe(
      Effect.mapError((error) =>
        isAlreadyExists(error) ? new JournalExistsError({ path }) : ioError(path, "create")(error)
      ),
      Effect.map(fileAppender(path))
    ),
    reopen: (keep, size) =>
      Effect.zipRight(
        keep < size ? Effect.mapError(fs.truncate(path, keep), ioError(path, "truncate")) : Effect.void,
        Effect.map(Effect.mapError(open("a"), ioError(path, "open")), fileAppender(path))
      )
  }
}

/** `<journal>.lock`, taken for the scope (see `lock.ts`), its refusals as the journal's errors. */
const lock = (fs: FileSystem.FileSystem, path: string) =>
  Effect.mapError(Lock.acquire(fs, `${path}.lock`), (error) =>
    error._tag === "LockHeld"
      ? new JournalLockedError({ path, lockPath: error.lockPath, ...(error.pid === undefined ? {} : { pid: error.pid }) })
      : ioError(path, "lock")(error.error))

export const file = (path: string): Effect.Effect<
  Journal,
  JournalLockedError | JournalIoError,
  FileSystem.FileSystem | Scope.Scope
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* lock(fs, path)
    return yield* make(fileStore(fs, path, yield* Effect.scope))
  })

// ---------------------------------------------------------------------------
// In memory

const notFound = (path: string) =>
  new JournalIoError({ path, operation: "read", reason: "NotFound", description: "no such journal" })

export const memory = (text?: string): Effect.Effect<MemoryJournal> =>
  Effect.gen(function*() {
    const path = "memory"
    const content = yield* Ref.make<Uint8Array | undefined>(text === undefined ? undefined : encoder.encode(text))
    const appender: Appender = {
      append: (bytes) =>
        Ref.update(content, (current) => {
          const next = new Uint8Array((current?.length ?? 0) + bytes.length)
          if (current !== undefined) next.set(current)
          next.set(bytes, current?.length ?? 0)
          return next
        })
    }
    const journal = yield* make({
      path,
      read: Effect.flatMap(Ref.get(content), (bytes) =>
        bytes === undefined ? Effect.fail(notFound(path)) : Effect.succeed(bytes)),
      create: Effect.flatten(
        Ref.modify(content, (bytes): readonly [Effect.Effect<Appender, JournalExistsError>, Uint8Array] =>
          bytes === undefined
            ? [Effect.succeed(appender), new Uint8Array(0)]
            : [Effect.fail(new JournalExistsError({ path })), bytes])
      ),
      reopen: (keep) => Effect.as(Ref.update(content, (bytes) => bytes?.subarray(0, keep)), appender)
    })
    return { ...journal, text: Effect.map(Ref.get(content), (bytes) => bytes === undefined ? "" : utf8.decode(bytes)) }
  })

// ---------------------------------------------------------------------------
// The engine's view: what the bulk engine tells its journal, and what a
// resumed journal tells the engine, so that the engine is the same with a
// journal or without one.

/** What the journal says of a packed chunk before it is sent. */
export interface Checked {
  readonly facts: ChunkFacts
  /** The acceptance a resumed journal holds for this very body: send nothing. */
  readonly held: AcceptedChunk | undefined
}

/** A chunk's outcome, as the engine settles it. */
export type Outcome =
  | { readonly _tag: "Accepted"; readonly asyncActionId: string }
  | { readonly _tag: "Rejected" | "Unknown"; readonly error: VoucherifyError }

export interface Ledger {
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
  /** A request is about to go out (after any quota wait). */
  readonly sending: (facts: ChunkFacts) => Effect.Effect<void, JournalError>
  /** A chunk's outcome, on the disk before this returns when it is an acceptance. */
  readonly settled: (facts: ChunkFacts, outcome: Outcome) => Effect.Effect<void, JournalError>
  /** An awaited action reached `DONE` or `FAILED`. */
  readonly finished: (
    action: { readonly index: number; readonly asyncActionId: string; readonly status: "DONE" | "FAILED" }
  ) => Effect.Effect<void, JournalError>
  /** The input ended after `chunks` chunks: a journal that accepted more belongs to a longer input. */
  readonly end: (chunks: number) => Effect.Effect<void, JournalError>
}

/** Every error of a journal. */
export type JournalError =
  | JournalLockedError
  | JournalExistsError
  | JournalCorruptError
  | JournalMismatchError
  | JournalIoError

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
      sending: writer.chunkSent,
      settled: (facts, outcome) => {
        switch (outcome._tag) {
          case "Accepted":
            return writer.chunkAccepted({ ...facts, asyncActionId: outcome.asyncActionId })
          case "Rejected":
            return writer.chunkRejected({ ...facts, error: outcome.error })
          case "Unknown":
            return writer.chunkUnknown({ ...facts, error: outcome.error })
        }
      },
      finished: writer.actionFinished,
      end: (chunks) => {
        const changed = plan === undefined ? undefined : checkEnd(plan, chunks)
        return changed === undefined ? Effect.void : Effect.fail(changed)
      }
    }
  })
