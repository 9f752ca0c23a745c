/**
 * A journal read back into a resume plan: which chunks were accepted, so
 * that a resumed run sends them no more, and whether the run is the same.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { JournalCorruptError, JournalMismatchError } from "./errors.js"
import type { ChunkFacts, Header, Run } from "./format.js"
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
 * A journal read back: which chunks need not be sent again.
 */
export interface ResumePlan {
  readonly path: string
  readonly header: Header
  /** By chunk index. A chunk counts by its first acceptance: ids once accepted stay applied. */
  readonly accepted: ReadonlyMap<number, AcceptedChunk>
}

/** A journal's bytes, read. */
export interface Parsed {
  /** `undefined` for an empty journal: the run died before its header was on the disk. */
  readonly header: Header | undefined
  readonly accepted: ReadonlyMap<number, AcceptedChunk>
  /** Bytes of complete, valid lines: what a resume keeps. */
  readonly keep: number
}

/**
 * Folds a journal's events into its accepted chunks. Only acceptances (and
 * how their actions ended) matter to a resume: a chunk sent, refused or of
 * unknown fate is sent again.
 */
const parse = (path: string, bytes: Uint8Array): Either.Either<Parsed, JournalCorruptError> => {
  let header: Header | undefined
  const accepted = new Map<number, { chunk: AcceptedChunk; line: number }>()
  const corrupt = (line: number, reason: string) => new JournalCorruptError({ path, line, reason })
  const keep = readLines(path, bytes, (line, event) => {
    if (line === 1) {
      if (event.type !== "run") return corrupt(line, `the first line must be the "run" event, not "${event.type}"`)
      header = event
      return undefined
    }
    switch (event.type) {
      case "run":
        return corrupt(line, `a second "run" event: a journal records one run`)
      case "chunk_accepted": {
        const { type: _, at: __, ...chunk } = event
        const seen = accepted.get(event.index)
        if (seen === undefined) accepted.set(event.index, { chunk, line })
        else if (seen.chunk.sha256 !== event.sha256) {
          return corrupt(line, `chunk ${event.index} was accepted on line ${seen.line} with another body`)
        }
        return undefined
      }
      case "action_finished": {
        const seen = accepted.get(event.index)
        if (seen === undefined || seen.chunk.asyncActionId !== event.asyncActionId) {
          return corrupt(
            line,
            `action ${event.asyncActionId} finished for chunk ${event.index}, ` +
              "which no earlier line accepted with that action"
          )
        }
        seen.chunk = { ...seen.chunk, finalStatus: event.status }
        return undefined
      }
      default:
        return undefined
    }
  })
  return Either.map(keep, (keep) => ({
    header,
    accepted: new Map([...accepted].map(([index, { chunk }]) => [index, chunk])),
    keep
  }))
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
