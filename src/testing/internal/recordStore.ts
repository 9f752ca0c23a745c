/**
 * Products, customers and vouchers with their metadata (and, once a
 * per-record update gave them, their other fields), as both test
 * doubles keep them (`VoucherifyTest` in memory, `MockVoucherifyServer`
 * behind HTTP), kept small enough for ten million ids: a record is one map
 * entry pointing at a frozen metadata object that every record updated by
 * the same request shares.
 *
 * @internal
 */
import { bulkTargets } from "../../internal/bulkTargets.js"
import type { AsyncActionResult, Metadata } from "../../VoucherifySchema.js"
import type { MetadataCheck, SeedRecords, Target } from "../MockVoucherifyServer.js"

const targets: ReadonlyArray<Target> = ["products", "customers", "vouchers"]

/** The metadata of a record that has none. */
export const emptyMetadata: Metadata = Object.freeze({})

/** Freezes a parsed JSON value all the way down: stored objects are shared. */
export const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  if (keysA.length !== Object.keys(b).length) return false
  return keysA.every((key) =>
    Object.hasOwn(b, key) && jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
  )
}

const carries = (record: Metadata, expected: Metadata): boolean =>
  Object.keys(expected).every((key) => Object.hasOwn(record, key) && jsonEqual(record[key], expected[key]))

/** What one bulk update did. */
export interface UpdateResult {
  readonly done: number
  /** Ids that name no record (vouchers only: the others are created). */
  readonly unknown: ReadonlyArray<string>
  readonly unknownCount: number
  /** Each distinct id once, in order, and what became of it: the report file's rows. */
  readonly report: ReportRows
}

/** A report's rows, compactly: `outcomes[i]` is {@link Outcome} of `ids[i]`. */
export interface ReportRows {
  readonly ids: ReadonlyArray<string>
  readonly outcomes: Uint8Array
}

/** What became of one id: found and updated, created (not found, updated), or not found and not updated. */
export const Outcome = { Updated: 0, Created: 1, NotFound: 2 } as const

/** One record of a per-record update, as its body carried it (already checked). */
export type RecordUpdate = Readonly<Record<string, unknown>>

export interface Store {
  readonly get: (target: Target, id: string) => Metadata | undefined
  /** A record's fields other than its id and metadata (`name`, `price`, ...), set by per-record updates. */
  readonly fields: (target: Target, id: string) => Readonly<Record<string, unknown>> | undefined
  /** The records of one kind, read-only. */
  readonly records: (target: Target) => ReadonlyMap<string, Metadata>
  readonly count: (target: Target) => number
  /** Writes `metadata` into every record named; a repeated id counts once. */
  readonly update: (
    target: Target,
    ids: Iterable<string>,
    metadata: Metadata,
    options: { readonly upsert: boolean; readonly maxUnknown: number }
  ) => UpdateResult
  /**
   * Applies each record in order: its fields replace the stored ones of the
   * same name, its metadata keys are merged in as a metadata update merges
   * them. A repeated id is applied again and reported once.
   */
  readonly updateRecords: (
    target: Target,
    records: ReadonlyArray<RecordUpdate>,
    options: { readonly upsert: boolean; readonly maxUnknown: number }
  ) => UpdateResult
  readonly check: (target: Target, ids: Iterable<string>, expected: Metadata) => MetadataCheck
  /** Back to the seeded records. */
  readonly reset: () => void
}

const seedMap = (seed: SeedRecords | undefined): Map<string, Metadata> => {
  const map = new Map<string, Metadata>()
  if (seed === undefined) return map
  if (Symbol.iterator in seed) {
    for (const id of seed as Iterable<string>) map.set(id, emptyMetadata)
  } else {
    for (const [id, metadata] of Object.entries(seed)) map.set(id, deepFreeze(structuredClone(metadata)))
  }
  return map
}

export const makeStore = (seeds: { readonly [K in Target]?: SeedRecords | undefined } = {}): Store => {
  const seeded = Object.fromEntries(targets.map((t) => [t, seedMap(seeds[t])])) as Record<Target, Map<string, Metadata>>
  let maps = {} as Record<Target, Map<string, Metadata>>
  // only records a per-record update gave fields to: a metadata-only store stays one map entry a record
  let fieldMaps = {} as Record<Target, Map<string, Readonly<Record<string, unknown>>>>
  const reset = () => {
    maps = Object.fromEntries(targets.map((t) => [t, new Map(seeded[t])])) as Record<Target, Map<string, Metadata>>
    fieldMaps = Object.fromEntries(targets.map((t) => [t, new Map()])) as typeof fieldMaps
  }
  reset()

  return {
    get: (target, id) => maps[target].get(id),
    fields: (target, id) => fieldMaps[target].get(id),
    records: (target) => maps[target],
    count: (target) => maps[target].size,
    update: (target, ids, metadata, { maxUnknown, upsert }) => {
      const map = maps[target]
      // Records that already had metadata get a merged copy, one per distinct
      // previous object, so a million records updated alike still share one.
      const merged = new Map<Metadata, Metadata>()
      // A record already pointing at what this update writes is a repeated id:
      // counted once, without keeping a set of every id.
      const written = new Set<Metadata>([metadata])
      const unknown = new Set<string>()
      const reportIds: Array<string> = []
      const outcomes: Array<number> = []
      let done = 0
      for (const id of ids) {
        const previous = map.get(id)
        if (previous === undefined) {
          if (!upsert) {
            if (!unknown.has(id)) {
              unknown.add(id)
              reportIds.push(id)
              outcomes.push(Outcome.NotFound)
            }
            continue
          }
          map.set(id, metadata)
          reportIds.push(id)
          outcomes.push(Outcome.Created)
          done++
          continue
        } else if (written.has(previous)) {
          continue
        }
        reportIds.push(id)
        outcomes.push(Outcome.Updated)
        if (previous === emptyMetadata) {
          map.set(id, metadata)
        } else {
          let next = merged.get(previous)
          if (next === undefined) {
            next = Object.freeze({ ...previous, ...metadata })
            merged.set(previous, next)
            written.add(next)
          }
          map.set(id, next)
        }
        done++
      }
      return {
        done,
        unknown: Array.from(unknown).slice(0, maxUnknown),
        unknownCount: unknown.size,
        report: { ids: reportIds, outcomes: Uint8Array.from(outcomes) }
      }
    },
    updateRecords: (target, records, { maxUnknown, upsert }) => {
      const map = maps[target]
      const fieldMap = fieldMaps[target]
      const { idField } = bulkTargets[target].records
      const unknown = new Set<string>()
      const outcome = new Map<string, number>()
      for (const record of records) {
        const { [idField]: id, metadata, ...fields } = record as Record<string, unknown> & { readonly metadata?: Metadata }
        const key = id as string
        const previous = map.get(key)
        if (previous === undefined && !upsert) {
          unknown.add(key)
          outcome.set(key, Outcome.NotFound)
          continue
        }
        // an id repeated in one body was found by its second record: it counts once, as its first outcome
        if (!outcome.has(key)) outcome.set(key, previous === undefined ? Outcome.Created : Outcome.Updated)
        map.set(
          key,
          metadata === undefined
            ? previous ?? emptyMetadata
            : deepFreeze(previous === undefined || previous === emptyMetadata ? { ...metadata } : { ...previous, ...metadata })
        )
        if (Object.keys(fields).length > 0) fieldMap.set(key, deepFreeze({ ...fieldMap.get(key), ...fields }))
      }
      return {
        done: outcome.size - unknown.size,
        unknown: Array.from(unknown).slice(0, maxUnknown),
        unknownCount: unknown.size,
        report: { ids: Array.from(outcome.keys()), outcomes: Uint8Array.from(outcome.values()) }
      }
    },
    check: (target, ids, expected) => {
      const map = maps[target]
      const verdicts = new Map<Metadata, boolean>()
      const examples: Array<string> = []
      let checked = 0
      let missing = 0
      let mismatched = 0
      for (const id of ids) {
        checked++
        const record = map.get(id)
        let ok = record !== undefined
        if (record === undefined) {
          missing++
        } else {
          let verdict = verdicts.get(record)
          if (verdict === undefined) {
            verdict = carries(record, expected)
            verdicts.set(record, verdict)
          }
          ok = verdict
          if (!ok) mismatched++
        }
        if (!ok && examples.length < 5) examples.push(id)
      }
      return { checked, missing, mismatched, examples }
    },
    reset
  }
}

/**
 * The `result` of a finished `*.METADATA_UPDATE` action. Unknown vouchers
 * are named by `code`, as `VOUCHERS.BULK_UPDATE` documents its errors.
 */
export const metadataUpdateResult = (outcome: UpdateResult): AsyncActionResult => ({
  done_count: outcome.done,
  failed_count: outcome.unknownCount,
  errors: outcome.unknown.map((code) => ({
    key: "not_found",
    message: "Resource not found",
    details: `Cannot find voucher with id ${code}`,
    code
  }))
})
