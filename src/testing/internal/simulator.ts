/**
 * The model behind the mock server's handler, which both test doubles
 * serve (`MockVoucherifyServer` on loopback, `VoucherifyTest` in process):
 * records with their metadata, and a
 * queue of async actions, each with its whole timeline fixed when it is
 * accepted (it starts when the action before it ends, and takes the
 * processing delay). Every call passes the current time, and settles
 * first: the actions finished by then are applied, oldest first. So the
 * model needs no fiber, the Effect `Clock` (a `TestClock` in tests) drives
 * it, and whoever reads finds the work done as if a worker had run all along.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import { AsyncAction, type AsyncActionList, type AsyncActionResult, type AsyncActionStatus, type BulkTarget, type Metadata } from "../../VoucherifySchema.js"
import { bulkTargets } from "../../internal/bulkTargets.js"
import * as Option from "effect/Option"
import type { SeedRecords, StoredRecord } from "../MockVoucherifyServer.js"
import { deepFreeze, makeStore, metadataUpdateResult, Outcome, type RecordUpdate, type ReportRows, type Store } from "./recordStore.js"
import { type ReportIdColumn, renderReportCsv } from "./reportCsv.js"

export interface SimulatorOptions {
  readonly records?: { readonly [K in BulkTarget]?: SeedRecords | undefined } | undefined
  /** How long each action stays `IN_PROGRESS`. */
  readonly processingMillis: number
  /** `result.errors` of a voucher update lists at most this many unknown codes. */
  readonly maxResultErrors: number
  /** Where the report file of an action is served, `token` in its query. */
  readonly reportUrl: (actionId: string, token: string) => string
  /** How long a report stays available after its action ends (`reports_available_till`). */
  readonly reportTtlMillis: number
}

/** A finished update's report file: its rows, the token its URL carries, when it expires. */
interface StoredReport {
  readonly rows: ReportRows
  readonly idColumn: ReportIdColumn
  readonly token: string
  readonly availableTill: number
}

/** What a request for a report file finds. */
export type ReportLookup =
  | { readonly _tag: "Found"; readonly csv: Uint8Array }
  | { readonly _tag: "Expired" }
  | { readonly _tag: "NotFound" }

interface StoredAction {
  readonly id: string
  readonly requestId: string
  readonly target: BulkTarget
  readonly acceptedAt: number
  /** When the worker picks it up: its acceptance, or the end of the action queued before it. */
  readonly startsAt: number
  readonly endsAt: number
  /** Scripted to end `FAILED` without touching the records. */
  readonly fails: boolean
  /** Which endpoint queued it: the metadata update, or the per-record one (`*.BULK_UPDATE`). */
  readonly kind: "metadata" | "records"
  /** The work still to do; dropped once applied, so that ids do not linger in memory. */
  work: Work | undefined
  result: AsyncActionResult | undefined
  report: StoredReport | undefined
}

/** What an accepted request asks for: one metadata object onto ids, or records each with its own values. */
export type Work =
  | { readonly ids: ReadonlyArray<string>; readonly metadata: Metadata }
  | { readonly records: ReadonlyArray<RecordUpdate> }

/** The records as reads see them. */
export type Records = Pick<Store, "get" | "fields" | "records" | "count" | "check">

export interface Simulator {
  /** Queues a request behind every earlier one; `fails` ends it `FAILED`, changing nothing. */
  readonly accept: (
    now: number,
    request: Work & {
      readonly target: BulkTarget
      readonly fails?: boolean | undefined
    }
  ) => string
  /** `GET /v1/async-actions/{id}` at `now`. */
  readonly getAction: (now: number, id: string) => AsyncAction | undefined
  /** `GET /v1/async-actions`: newest first, created strictly before `endDate`, without results. */
  readonly list: (now: number, limit: number, endDate: number | undefined) => AsyncActionList
  /** Every action, oldest first, with its result once finished. */
  readonly actions: (now: number) => ReadonlyArray<AsyncAction>
  readonly records: (now: number) => Records
  /** The report file of a finished action, if `token` is its own. */
  readonly report: (now: number, actionId: string, token: string) => ReportLookup
  /** Back to the seeded records with no action; ids keep counting, so none is given twice. */
  readonly reset: () => void
}

type AsyncActionListEntry = AsyncActionList["async_actions"][number]

/** A record as both doubles show it: its fields (per-record updates set them) and its metadata. */
export const storedRecord = (records: Records, target: BulkTarget, id: string): Option.Option<StoredRecord> => {
  const metadata = records.get(target, id)
  return metadata === undefined ? Option.none() : Option.some({ fields: records.fields(target, id) ?? {}, metadata })
}

/** Where both doubles serve report files: `<origin><reportsPath>/<action id>.csv?token=…`. */
export const reportsPath = "/v1/async-actions-reports"

const iso = (millis: number) => new Date(millis).toISOString()

const hexId = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(18, "0")}`

/**
 * An action with no processing time is finished the moment it starts.
 * Otherwise it reads `ENQUEUED` until the clock moves past its start, so that
 * an action just accepted on a `TestClock` is `ENQUEUED`, as the real API
 * answers right after accepting.
 */
const isFinishedAt = (action: StoredAction, now: number) =>
  now >= action.endsAt && (now > action.startsAt || action.endsAt === action.startsAt)

const statusAt = (action: StoredAction, now: number): AsyncActionStatus =>
  isFinishedAt(action, now)
    ? action.fails ? "FAILED" : "DONE"
    : now <= action.startsAt
    ? "ENQUEUED"
    : "IN_PROGRESS"

/** The fields of an action that lists show: all but its `result`. */
const entry = (action: StoredAction, now: number): AsyncActionListEntry => {
  const status = statusAt(action, now)
  const finished = status === "DONE" || status === "FAILED"
  return {
    id: action.id,
    type: action.kind === "records" ? bulkTargets[action.target].records.actionType : bulkTargets[action.target].actionType,
    status,
    ...(finished ? { operation_status: status === "DONE" ? "SUCCESS" : "FAILED" } as const : {}),
    created_at: iso(action.acceptedAt),
    updated_at: iso(status === "ENQUEUED" ? action.acceptedAt : finished ? action.endsAt : action.startsAt),
    request_id: action.requestId,
    ...(finished ? { processing_time: action.endsAt - action.startsAt } : {}),
    progress: status === "ENQUEUED"
      ? 0
      : finished
      ? 100
      : Math.floor((100 * (now - action.startsAt)) / (action.endsAt - action.startsAt)),
    object: "async_action"
  }
}

/** The action as `GET /v1/async-actions/{id}` shows it; its `result` is set once it is finished. */
const view = (action: StoredAction, now: number): AsyncAction =>
  new AsyncAction(action.result === undefined ? entry(action, now) : { ...entry(action, now), result: action.result })

/** The ids a request names: its `ids`, or each record's `source_id` or `code`. */
const idsOf = (target: BulkTarget, work: Work): ReadonlyArray<string> =>
  "ids" in work ? work.ids : work.records.map((record) => record[bulkTargets[target].records.idField] as string)

const failedResult = (ids: ReadonlyArray<string>): AsyncActionResult => ({
  done_count: 0,
  failed_count: new Set(ids).size,
  errors: [{ message: "The async action failed", details: "scripted failure", key: "failed" }]
})

export const makeSimulator = (options: SimulatorOptions): Simulator => {
  const store = makeStore(options.records)
  let actions: Array<StoredAction> = []
  let byId = new Map<string, StoredAction>()
  /** How many actions, from the oldest, have been applied to the records. */
  let applied = 0
  let accepted = 0

  /** Actions end in acceptance order, so the first unfinished one stops the walk. */
  const settle = (now: number): void => {
    while (applied < actions.length && isFinishedAt(actions[applied]!, now)) {
      const action = actions[applied++]!
      const work = action.work!
      action.work = undefined
      if (action.fails) {
        action.result = failedResult(idsOf(action.target, work))
        continue
      }
      const rules = { upsert: bulkTargets[action.target].upsert, maxUnknown: options.maxResultErrors }
      const outcome = "ids" in work
        ? store.update(action.target, work.ids, work.metadata, rules)
        : store.updateRecords(action.target, work.records, rules)
      const report: StoredReport = {
        rows: outcome.report,
        idColumn: action.target === "vouchers" ? "code" : "source_id",
        token: crypto.randomUUID().replaceAll("-", ""),
        availableTill: action.endsAt + options.reportTtlMillis
      }
      action.report = report
      action.result = {
        ...metadataUpdateResult(outcome),
        reports: [Redacted.make(options.reportUrl(action.id, report.token))],
        reports_available_till: iso(report.availableTill)
      }
    }
  }

  return {
    accept: (now, request) => {
      settle(now)
      const startsAt = Math.max(now, actions.at(-1)?.endsAt ?? now)
      accepted++
      const action: StoredAction = {
        id: hexId("aa_", accepted),
        requestId: hexId("v-", accepted),
        target: request.target,
        acceptedAt: now,
        startsAt,
        endsAt: startsAt + options.processingMillis,
        fails: request.fails === true,
        kind: "ids" in request ? "metadata" : "records",
        // shared by every record the action updates, so never changed in place
        work: "ids" in request ? { ids: request.ids, metadata: deepFreeze(request.metadata) } : { records: request.records },
        result: undefined,
        report: undefined
      }
      actions.push(action)
      byId.set(action.id, action)
      return action.id
    },
    getAction: (now, id) => {
      settle(now)
      const action = byId.get(id)
      return action && view(action, now)
    },
    list: (now, limit, endDate) => {
      settle(now)
      const matching = actions.filter((action) => endDate === undefined || action.acceptedAt < endDate).reverse()
      return {
        object: "list",
        data_ref: "async_actions",
        async_actions: matching.slice(0, limit).map((action) => entry(action, now)),
        has_more: matching.length > limit
      }
    },
    actions: (now) => {
      settle(now)
      return actions.map((action) => view(action, now))
    },
    records: (now) => {
      settle(now)
      return store
    },
    report: (now, actionId, token) => {
      settle(now)
      const report = byId.get(actionId)?.report
      if (report === undefined || report.token !== token) return { _tag: "NotFound" }
      if (now > report.availableTill) return { _tag: "Expired" }
      const { ids, outcomes } = report.rows
      return {
        _tag: "Found",
        csv: renderReportCsv(
          ids.map((id, i) => ({ id, found: outcomes[i] === Outcome.Updated, updated: outcomes[i] !== Outcome.NotFound })),
          report.idColumn
        )
      }
    },
    reset: () => {
      store.reset()
      actions = []
      byId = new Map()
      applied = 0
    }
  }
}
