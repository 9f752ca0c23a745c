/**
 * Async actions: accepted bulk updates wait in one queue and run one at a
 * time, in order, on the Effect `Clock` (ENQUEUED, IN_PROGRESS for the
 * processing delay, then DONE).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { type AsyncActionResult, type AsyncActionStatus, bulkTargets, type Metadata } from "../../../VoucherifySchema.js"
import type { Target } from "../../MockVoucherifyServer.js"
import { randomHex } from "./http.js"
import { metadataUpdateResult, type Store } from "../recordStore.js"

export interface ActionRecord {
  readonly id: string
  readonly target: Target
  readonly createdAt: number
  readonly requestId: string
  status: AsyncActionStatus
  updatedAt: number
  processingTime: number
  result: AsyncActionResult | undefined
  /** The work still to do; dropped once done, so that ids do not linger in memory. */
  work: { readonly ids: ReadonlyArray<string>; readonly metadata: Metadata } | undefined
}

const iso = (millis: number) => new Date(millis).toISOString()

/** The action as `GET /v1/async-actions/{id}` shows it; `withResult: false` for the list. */
export const render = (action: ActionRecord, withResult: boolean) => ({
  id: action.id,
  type: bulkTargets[action.target].actionType,
  status: action.status,
  ...(action.status === "DONE" ? { operation_status: "SUCCESS" as const } : {}),
  ...(withResult && action.result !== undefined ? { result: action.result } : {}),
  created_at: iso(action.createdAt),
  updated_at: iso(action.updatedAt),
  request_id: action.requestId,
  processing_time: action.processingTime,
  progress: action.status === "DONE" ? 100 : 0,
  object: "async_action"
})

export interface Actions {
  readonly enqueue: (
    target: Target,
    work: NonNullable<ActionRecord["work"]>,
    requestId: string
  ) => Effect.Effect<ActionRecord>
  readonly get: (id: string) => ActionRecord | undefined
  /** Oldest first. */
  readonly all: () => ReadonlyArray<ActionRecord>
  readonly reset: Effect.Effect<void>
}

export const makeActions = (options: {
  readonly store: Store
  readonly processingDelay: Duration.Duration
  readonly maxResultErrors: number
}): Effect.Effect<Actions, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<ActionRecord>()
    let byId = new Map<string, ActionRecord>()

    const process = (action: ActionRecord) =>
      Effect.gen(function*() {
        const work = action.work
        // An action dropped by a reset while it waited or ran changes nothing.
        if (work === undefined || byId.get(action.id) !== action) return
        const started = yield* Clock.currentTimeMillis
        action.status = "IN_PROGRESS"
        action.updatedAt = started
        yield* Effect.sleep(options.processingDelay)
        if (byId.get(action.id) !== action) return
        const { upsert } = bulkTargets[action.target]
        const outcome = options.store.update(action.target, work.ids, work.metadata, {
          upsert,
          maxUnknown: options.maxResultErrors
        })
        const finished = yield* Clock.currentTimeMillis
        action.result = metadataUpdateResult(outcome)
        action.status = "DONE"
        action.updatedAt = finished
        action.processingTime = finished - started
        action.work = undefined
      })

    yield* Queue.take(queue).pipe(Effect.flatMap(process), Effect.forever, Effect.forkScoped)

    return {
      enqueue: (target, work, requestId) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const action: ActionRecord = {
            id: `aa_${randomHex(9)}`,
            target,
            createdAt: now,
            requestId,
            status: "ENQUEUED",
            updatedAt: now,
            processingTime: 0,
            result: undefined,
            work
          }
          byId.set(action.id, action)
          yield* Queue.offer(queue, action)
          return action
        }),
      get: (id) => byId.get(id),
      all: () => Array.from(byId.values()),
      reset: Effect.zipRight(
        Queue.takeAll(queue),
        Effect.sync(() => {
          byId = new Map()
        })
      )
    }
  })
