/**
 * The model behind `VoucherifyTest`: records with metadata and a queue of
 * async actions whose states are computed from the time they are read at.
 * Plain, synchronous code: every caller passes the current time, so the
 * store needs no fiber and the Effect `Clock` (a `TestClock` in tests)
 * drives it.
 *
 * @internal
 */
import {
  AsyncAction,
  type AsyncActionList,
  type AsyncActionResult,
  type AsyncActionStatus,
  type BulkTarget,
  bulkTargets,
  type Metadata
} from "../../VoucherifySchema.js"
import type { Records } from "../VoucherifyTest.js"
import { deepFreeze, makeStore, metadataUpdateResult, type Store } from "./recordStore.js"

/** An accepted bulk request. Its whole timeline is fixed when it is accepted. */
export interface StoredAction {
  readonly id: string
  readonly requestId: string
  readonly target: BulkTarget
  readonly ids: ReadonlyArray<string>
  readonly metadata: Metadata
  readonly acceptedAt: number
  /** When the worker picks it up: its acceptance, or the end of the action queued before it. */
  readonly startsAt: number
  readonly endsAt: number
  /** Scripted to end `FAILED` without touching the records. */
  readonly fails: boolean
  /** Set when the action is applied to the records. */
  result?: AsyncActionResult
}

type AsyncActionListEntry = AsyncActionList["async_actions"][number]

const iso = (millis: number) => new Date(millis).toISOString()

/**
 * The status at `now`. An action reads `ENQUEUED` until the clock moves past
 * its start, so that an action just accepted on a `TestClock` is `ENQUEUED`,
 * as the real API answers right after accepting.
 */
const statusAt = (action: StoredAction, now: number): AsyncActionStatus =>
  now <= action.startsAt
    ? "ENQUEUED"
    : now < action.endsAt
    ? "IN_PROGRESS"
    : action.fails
    ? "FAILED"
    : "DONE"

const isFinishedAt = (action: StoredAction, now: number) => now > action.startsAt && now >= action.endsAt

const hexId = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(18, "0")}`

export class InMemoryStore {
  readonly records: Store
  readonly actions: Array<StoredAction> = []
  private readonly byId = new Map<string, StoredAction>()
  /** How many actions, from the oldest, have been applied to the records. */
  private applied = 0

  constructor(
    seeds: { readonly [K in BulkTarget]?: Records | undefined },
    private readonly processingMillis: number
  ) {
    this.records = makeStore(seeds)
  }

  /** Queues a request behind every earlier one. */
  accept(target: BulkTarget, ids: ReadonlyArray<string>, metadata: Metadata, now: number, fails: boolean) {
    const previous = this.actions.at(-1)
    const startsAt = Math.max(now, previous?.endsAt ?? now)
    const n = this.actions.length + 1
    const action: StoredAction = {
      id: hexId("aa_", n),
      requestId: hexId("v-", n),
      target,
      ids,
      // shared by every record the action updates, so never changed in place
      metadata: deepFreeze(metadata),
      acceptedAt: now,
      startsAt,
      endsAt: startsAt + this.processingMillis,
      fails
    }
    this.actions.push(action)
    this.byId.set(action.id, action)
    return action
  }

  /**
   * Applies, oldest first, every action finished by `now`. Actions end in
   * acceptance order, so the first unfinished one stops the walk.
   */
  settle(now: number): void {
    while (this.applied < this.actions.length && isFinishedAt(this.actions[this.applied]!, now)) {
      const action = this.actions[this.applied]!
      action.result = action.fails ? this.failedResult(action) : this.apply(action)
      this.applied++
    }
  }

  private apply(action: StoredAction): AsyncActionResult {
    // a repeated id is one record: count it once
    const outcome = this.records.update(action.target, new Set(action.ids), action.metadata, {
      upsert: bulkTargets[action.target].upsert,
      maxUnknown: Number.POSITIVE_INFINITY
    })
    return metadataUpdateResult(outcome)
  }

  private failedResult(action: StoredAction): AsyncActionResult {
    return {
      done_count: 0,
      failed_count: new Set(action.ids).size,
      errors: [{ message: "The async action failed", details: "scripted failure", key: "failed" }]
    }
  }

  find(id: string): StoredAction | undefined {
    return this.byId.get(id)
  }

  /** The action as `GET /v1/async-actions/{id}` shows it at `now`; call `settle(now)` first. */
  view(action: StoredAction, now: number): AsyncAction {
    const { entry, finished } = this.entry(action, now)
    return new AsyncAction(finished && action.result ? { ...entry, result: action.result } : entry)
  }

  /** The fields of an action that lists show, all but its `result`. */
  private entry(action: StoredAction, now: number) {
    const status = statusAt(action, now)
    const finished = status === "DONE" || status === "FAILED"
    const progress = status === "ENQUEUED"
      ? 0
      : finished
      ? 100
      : Math.floor((100 * (now - action.startsAt)) / (action.endsAt - action.startsAt))
    const entry: AsyncActionListEntry = {
      id: action.id,
      type: bulkTargets[action.target].actionType,
      status,
      ...(finished ? { operation_status: status === "DONE" ? "SUCCESS" : "FAILED" } as const : {}),
      created_at: iso(action.acceptedAt),
      updated_at: iso(status === "ENQUEUED" ? action.acceptedAt : finished ? action.endsAt : action.startsAt),
      request_id: action.requestId,
      ...(finished ? { processing_time: action.endsAt - action.startsAt } : {}),
      progress,
      object: "async_action"
    }
    return { entry, finished }
  }

  /** `GET /v1/async-actions`: newest first, created strictly before `endDate`. */
  list(now: number, limit: number, endDate: number | undefined): AsyncActionList {
    const matching = this.actions.filter((action) => endDate === undefined || action.acceptedAt < endDate).reverse()
    return {
      object: "list",
      data_ref: "async_actions",
      async_actions: matching.slice(0, limit).map((action) => this.entry(action, now).entry),
      has_more: matching.length > limit
    }
  }
}
