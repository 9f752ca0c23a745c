/**
 * A journal read back into a resume plan: which chunks were accepted, so
 * that a resumed run sends them no more, and whether the run is the same.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { JournalIoError } from "./errors.js"
import { ioError, JournalCorruptError, JournalMismatchError } from "./errors.js"
import type { ChunkFacts, Event, Header, Run } from "./format.js"
import { readLines } from "./format.js"

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

/** A journal's bytes, read. */
export interface Parsed {
  /** `undefined` for an empty journal: the run died before its header was on the disk. */
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

const parse = (path: string, bytes: Uint8Array): Either.Either<Parsed, JournalCorruptError> => {
  const builder = new PlanBuilder(path)
  return Either.map(readLines(path, bytes, (line, event) => builder.add(line, event)), (keep) =>
    builder.result(keep, keep < bytes.length))
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

/** Reads a journal's bytes and checks them against the run that wants to resume it. */
export const read = (
  path: string,
  bytes: Uint8Array,
  run: Run
): Effect.Effect<Parsed, JournalCorruptError | JournalMismatchError> =>
  Effect.flatMap(parse(path, bytes), (parsed) => {
    const mismatch = parsed.header === undefined ? undefined : compareRun(path, parsed.header, run)
    return mismatch === undefined ? Effect.succeed(parsed) : Effect.fail(mismatch)
  })

export const toPlan = (path: string, parsed: Parsed): ResumePlan => ({
  path,
  header: parsed.header,
  accepted: parsed.accepted,
  counts: parsed.counts,
  tornTail: parsed.tornTail
})

export const readPlan = (
  path: string,
  run: Run
): Effect.Effect<ResumePlan, JournalCorruptError | JournalMismatchError | JournalIoError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* Effect.mapError(fs.readFile(path), ioError(path, "read"))
    return toPlan(path, yield* read(path, bytes, run))
  }).pipe(Effect.withSpan("BulkJournal.readPlan"))

/**
 * What to do with a chunk packed again on resume.
 */
export type Decision =
  | { readonly _tag: "Skip"; readonly accepted: AcceptedChunk }
  | { readonly _tag: "Send" }
  | JournalMismatchError

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

/** A journal that accepted a chunk beyond the `chunks` packed now belongs to a longer input. */
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
