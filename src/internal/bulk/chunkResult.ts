/**
 * What became of one chunk inside the engine: the events the accounting
 * (`report.ts`) and the journal are told about. Users see their sum, the
 * `BulkRun.Report`.
 *
 * @internal
 */
import type { VoucherifyError } from "../../VoucherifyError.js"
import type { AsyncAction, AsyncActionStatus } from "../../VoucherifySchema.js"

/** A chunk's place in the input: its index, its range of items and its size. */
export interface ChunkRange {
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
}

/** What the report files of one action said, or why they could not be read. */
export type Reconciled =
  | { readonly created: number; readonly updated: number; readonly notUpdated: number }
  | { readonly unread: string }

/** The API accepted the chunk and queued an async action. */
export interface ChunkAccepted extends ChunkRange {
  readonly _tag: "Accepted"
  readonly asyncActionId: string
  /** When awaited: the action's last known status. */
  readonly status?: AsyncActionStatus | undefined
  /** When awaited: the action as last seen (`result` holds the counts). */
  readonly action?: AsyncAction | undefined
  /** When awaited: why following the action stopped early (a polling timeout…). */
  readonly awaitError?: string | undefined
  /** Not sent by this run: a resumed journal held it as accepted. */
  readonly fromJournal?: boolean | undefined
  /** When the report files were read: what they said. */
  readonly reconciled?: Reconciled | undefined
}

/** The API definitely refused the chunk: nothing of it was applied. */
export interface ChunkRejected extends ChunkRange {
  readonly _tag: "Rejected"
  readonly error: VoucherifyError
}

/** The request may have reached the API before it failed: the update may or may not happen. */
export interface ChunkUnknown extends ChunkRange {
  readonly _tag: "Unknown"
  readonly error: VoucherifyError
}

export type ChunkResult = ChunkAccepted | ChunkRejected | ChunkUnknown
