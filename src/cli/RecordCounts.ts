/**
 * What the awaited actions did to each record. An action can be `DONE` and
 * still have failed some records (a voucher code that does not exist is
 * never created): only its `result` says so, and the bulk report keeps the
 * status alone. One `GET` per action, a few per run.
 */
import * as Effect from "effect/Effect"
import type { BulkReport } from "../BulkMetadata.js"
import * as Voucherify from "../Voucherify.js"

export interface RecordCounts {
  readonly done: number
  readonly failed: number
  /** The first error an action listed, to show what went wrong. */
  readonly example: string | undefined
}

/** `undefined` when an action could not be read or does not report its counts. */
export const fetch = (report: BulkReport): Effect.Effect<RecordCounts | undefined, never, Voucherify.Voucherify> =>
  Effect.gen(function*() {
    const voucherify = yield* Voucherify.Voucherify
    const finished = report.accepted.actions.filter((action) => action.status === "DONE" || action.status === "FAILED")
    const actions = yield* Effect.forEach(finished, (action) => voucherify.getAsyncAction(action.asyncActionId), {
      concurrency: 4
    })
    let done = 0
    let failed = 0
    let example: string | undefined
    for (const { result } of actions) {
      if (result?.done_count === undefined) return undefined
      done += result.done_count
      failed += result.failed_count ?? 0
      const first = result.errors?.[0]
      example ??= first?.details ?? first?.message
    }
    return { done, failed, example }
  }).pipe(Effect.orElseSucceed(() => undefined))
