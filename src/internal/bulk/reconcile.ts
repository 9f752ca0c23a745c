/**
 * Reconciliation: reads the report files of a finished metadata update and
 * says which records the upsert created and which were not updated, without
 * holding the ids: they go to the caller's callbacks chunk by chunk.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Voucherify from "../../Voucherify.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import type { ChunkAccepted, Reconciled } from "./chunkResult.js"

/** Where the ids the report files name go, a chunk of ids at a time (never an array of millions). */
export interface ReconcileOptions {
  readonly onCreated?: ((ids: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  readonly onNotUpdated?: ((ids: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  /** The ids the report files call updated (found or created): what a sync state may record as confirmed. */
  readonly onUpdated?: ((ids: ReadonlyArray<string>) => void) | undefined
}

const none = () => Effect.void

/**
 * The counts of one `DONE` action, or why its report could not be read.
 * Vouchers whose action has no report fall back on `result.errors`, which
 * names the unknown codes (not created: vouchers are never upserted).
 */
export const reconcile = (
  voucherify: Voucherify.Service,
  target: BulkTarget,
  options: ReconcileOptions
) =>
(result: ChunkAccepted): Effect.Effect<Reconciled> => {
  const onCreated = options.onCreated ?? none
  const onNotUpdated = options.onNotUpdated ?? none
  const onUpdated = options.onUpdated
  const actionResult = result.action?.result
  const reports = actionResult?.reports ?? []
  if (reports.length === 0) {
    if (target === "vouchers" && actionResult?.errors !== undefined) {
      const unknown = actionResult.errors.flatMap((error) => typeof error["code"] === "string" ? [error["code"]] : [])
      return Effect.as(onNotUpdated(unknown), {
        created: 0,
        updated: actionResult.done_count ?? 0,
        notUpdated: actionResult.failed_count ?? unknown.length
      })
    }
    return Effect.succeed({ unread: "the action's result has no report file" })
  }
  const counts = { created: 0, updated: 0, notUpdated: 0 }
  const readOne = (url: Redacted.Redacted<string>) =>
    voucherify.readReport(url, { availableTill: actionResult?.reports_available_till }).pipe(
      Stream.runForEachChunk((rows) => {
        const created: Array<string> = []
        const notUpdated: Array<string> = []
        const updated: Array<string> = []
        for (const row of Chunk.toReadonlyArray(rows)) {
          if (!row.updated) {
            counts.notUpdated++
            notUpdated.push(row.id)
            continue
          }
          if (onUpdated !== undefined) updated.push(row.id)
          if (row.found) {
            counts.updated++
          } else {
            counts.created++
            created.push(row.id)
          }
        }
        if (onUpdated !== undefined && updated.length > 0) onUpdated(updated)
        return Effect.zipRight(
          created.length > 0 ? onCreated(created) : Effect.void,
          notUpdated.length > 0 ? onNotUpdated(notUpdated) : Effect.void
        )
      })
    )
  return Effect.forEach(reports, readOne, { discard: true }).pipe(
    Effect.as<Reconciled>(counts),
    Effect.catchAll((error) => Effect.succeed<Reconciled>({ unread: error.message }))
  )
}
