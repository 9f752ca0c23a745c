/**
 * The accounting of a bulk run: where every item read went. One mutable
 * tracker per run, updated once per chunk event, so that a report can be
 * built at any moment, including after a failure or an interruption.
 *
 * @internal
 */
import type { Progress, Report } from "../../BulkRun.js"
import type { VoucherifyError } from "../../VoucherifyError.js"
import type { ChunkAccepted, ChunkRange, ChunkResult } from "./chunkResult.js"

type Entry = {
  readonly index: number
  readonly offset: number
  readonly count: number
  readonly bytes: number
  /**
   * packed: built, not sent; sending: request started, no outcome yet;
   * waiting: refused for the bulk quota, to be sent again after the wait.
   */
  state: "packed" | "sending" | "waiting" | "accepted" | "rejected" | "unknown"
  error?: VoucherifyError
  accepted?: ChunkAccepted
}

/** Progress before anything happened. */
export const emptyProgress = (unit: Progress["unit"]): Progress => ({
  unit,
  itemsRead: 0,
  itemsUnchanged: 0,
  chunksPacked: 0,
  chunksSent: 0,
  bytesSent: 0,
  chunksAccepted: 0,
  itemsAccepted: 0,
  chunksRejected: 0,
  chunksUnknown: 0,
  actionsCompleted: 0,
  actionsFailed: 0,
  quotaRefusals: 0,
  chunksFromJournal: 0
})

type Counters = { -readonly [K in keyof Progress]: Progress[K] }

export class Tracker {
  /** Items handed to the packer. */
  itemsRead = 0
  /** Set when the run keeps a journal, so that the report says what it held and what went now. */
  journaled = false
  /** Set when the run has a sync state, so that the report counts the unchanged items. */
  syncing = false
  private readonly entries: Array<Entry> = []
  private packedEnd = 0
  private readonly counters: Counters

  constructor(readonly unit: Progress["unit"]) {
    this.counters = emptyProgress(unit)
  }

  read(count: number): void {
    this.itemsRead += count
  }

  /** Items the sync state holds as confirmed: read, and not handed to the packer. */
  unchanged(count: number): void {
    this.counters.itemsUnchanged += count
  }

  packed(chunk: ChunkRange): void {
    this.entries[chunk.index] = {
      index: chunk.index,
      offset: chunk.offset,
      count: chunk.count,
      bytes: chunk.bytes,
      state: "packed"
    }
    this.packedEnd = chunk.offset + chunk.count
    this.counters.chunksPacked++
  }

  sending(index: number): void {
    const entry = this.entries[index]!
    // a chunk sent again after a quota wait counts once
    if (entry.state === "packed") {
      this.counters.chunksSent++
      this.counters.bytesSent += entry.bytes
    }
    entry.state = "sending"
  }

  /** Refused for the bulk quota: if the run ends before it goes again, it stands rejected with this error. */
  refusedForQuota(index: number, error: VoucherifyError): void {
    const entry = this.entries[index]!
    entry.state = "waiting"
    entry.error = error
    this.counters.quotaRefusals++
  }

  /** Accepted in an earlier run of a resumed journal: counted, never sent. */
  fromJournal(result: ChunkAccepted): void {
    this.settled(result)
    this.counters.chunksFromJournal++
    if (result.status !== undefined) this.awaited(result)
  }

  waitingForQuota(until: number | undefined): void {
    this.counters.waitingForQuotaUntil = until
  }

  settled(result: ChunkResult): void {
    const entry = this.entries[result.index]!
    switch (result._tag) {
      case "Accepted":
        entry.state = "accepted"
        entry.accepted = result
        this.counters.chunksAccepted++
        this.counters.itemsAccepted += result.count
        return
      case "Rejected":
        entry.state = "rejected"
        entry.error = result.error
        this.counters.chunksRejected++
        return
      case "Unknown":
        entry.state = "unknown"
        entry.error = result.error
        this.counters.chunksUnknown++
    }
  }

  /** An awaited action reached its end, or polling it stopped. */
  awaited(result: ChunkAccepted): void {
    const entry = this.entries[result.index]!
    entry.accepted = result
    if (result.status === "DONE" || result.status === "FAILED") this.counters.actionsCompleted++
    if (result.status === "FAILED") this.counters.actionsFailed++
  }

  /** The sum of the chunks' report files, if any was reconciled. */
  private reconciliation(): Report["reconciliation"] {
    let seen = false
    const totals = { created: 0, updated: 0, notUpdated: 0 }
    const unread: Array<{ asyncActionId: string; chunkIndex: number; reason: string }> = []
    for (const entry of this.entries) {
      const reconciled = entry?.accepted?.reconciled
      if (reconciled === undefined) continue
      seen = true
      if ("unread" in reconciled) {
        unread.push({ asyncActionId: entry!.accepted!.asyncActionId, chunkIndex: entry!.index, reason: reconciled.unread })
      } else {
        totals.created += reconciled.created
        totals.updated += reconciled.updated
        totals.notUpdated += reconciled.notUpdated
      }
    }
    return seen ? { ...totals, unread } : undefined
  }

  progress(): Progress {
    const { waitingForQuotaUntil, ...counters } = this.counters
    return {
      ...counters,
      itemsRead: this.itemsRead + counters.itemsUnchanged,
      ...(waitingForQuotaUntil !== undefined ? { waitingForQuotaUntil } : {})
    }
  }

  report(status: Report["status"], durationMs: number, failure?: string): Report {
    const actions: Array<Report["accepted"]["actions"][number]> = []
    const rejected: Array<Report["rejected"][number]> = []
    const unknown: Array<Report["unknown"][number]> = []
    const notAttempted: Array<{ offset: number; count: number }> = []
    const skip = (offset: number, count: number) => {
      if (count === 0) return
      const last = notAttempted[notAttempted.length - 1]
      if (last !== undefined && last.offset + last.count === offset) last.count += count
      else notAttempted.push({ offset, count })
    }
    let acceptedItems = 0
    let bytes = 0
    for (const entry of this.entries) {
      // a filtered result stream leaves holes
      if (entry === undefined) continue
      bytes += entry.bytes
      const range = { chunkIndex: entry.index, offset: entry.offset, count: entry.count }
      switch (entry.state) {
        case "packed":
          skip(entry.offset, entry.count)
          break
        case "sending":
          // the run stopped with the request in flight: it may have arrived
          unknown.push(range)
          break
        case "accepted": {
          const a = entry.accepted!
          acceptedItems += entry.count
          const result = a.action?.result
          actions.push({
            asyncActionId: a.asyncActionId,
            ...range,
            ...(a.status !== undefined ? { status: a.status } : {}),
            ...(result?.done_count !== undefined ? { done: result.done_count } : {}),
            ...(result?.failed_count !== undefined ? { failed: result.failed_count } : {}),
            ...(a.awaitError !== undefined ? { awaitError: a.awaitError } : {})
          })
          break
        }
        case "waiting":
        case "rejected":
          rejected.push({ ...range, error: entry.error! })
          break
        case "unknown":
          unknown.push({ ...range, ...(entry.error !== undefined ? { error: entry.error } : {}) })
      }
    }
    // read, but still waiting in the packer when the run ended
    skip(this.packedEnd, this.itemsRead - this.packedEnd)
    const reconciliation = this.reconciliation()
    return {
      status,
      ...(failure !== undefined ? { failure } : {}),
      unit: this.unit,
      total: this.itemsRead + this.counters.itemsUnchanged,
      ...(this.syncing ? { unchanged: this.counters.itemsUnchanged } : {}),
      chunks: this.counters.chunksPacked,
      bytes,
      accepted: { items: acceptedItems, chunks: actions.length, actions },
      rejected,
      unknown,
      notAttempted,
      ...(this.journaled
        ? { journal: { chunksHeld: this.counters.chunksFromJournal, chunksSent: this.counters.chunksSent } }
        : {}),
      ...(reconciliation !== undefined ? { reconciliation } : {}),
      durationMs
    }
  }
}
