/**
 * A run with a sync state: before packing, each batch of items is checked
 * against the state, and only those it has not confirmed with the same
 * content go on; after an action is `DONE` and its report files read, the
 * items they call updated are recorded as confirmed, one transaction per
 * action. Nothing else is ever recorded: a refused, unknown, failed or
 * unfinished chunk is sent again by the next run.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as SyncState from "../../SyncState.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import { IdLineError, idReason, isBlank, lineTooLong } from "../bulk/idLines.js"
import type { Lines } from "../bulk/model.js"
import { decode } from "../text/decode.js"
import { LineSplitter } from "../text/lines.js"

/** How a kind of run names its items in the state: one hash for all (metadata), or each item's own (records). */
export type Identify =
  | { readonly _tag: "Same"; readonly kind: "metadata"; readonly hash: string }
  | {
    readonly _tag: "Each"
    readonly kind: "records"
    /** The id and the content hash of an item (a record's JSON text). */
    readonly of: (item: string, ids: Array<string>, hashes: Array<string>) => void
  }

export class Sync {
  /** Records sent by this run and not yet confirmed: id → the hash sent. */
  private readonly pending = new Map<string, string>()
  private readonly key: SyncState.Key

  constructor(
    private readonly state: SyncState.Service,
    target: BulkTarget,
    private readonly identify: Identify,
    /** Confirmations older than this (epoch milliseconds) do not count. */
    private readonly since: number
  ) {
    this.key = { target, kind: identify.kind }
  }

  /** What the state holds for a per-record run, read once, at its first batch. */
  private held: { readonly hasHash: (hash: string) => boolean } | undefined

  /** The items the state has not confirmed as they are; `onUnchanged` counts the others. */
  changed<E, R>(
    items: Stream.Stream<string, E, R>,
    onUnchanged: (count: number) => Effect.Effect<void>
  ): Stream.Stream<string, E | SyncState.SyncStateError, R> {
    const identify = this.identify
    if (identify._tag === "Same") {
      // a metadata run: one hash for every id, looked up a batch at a time
      return Stream.mapChunksEffect(items, (chunk) => {
        const batch = Chunk.toReadonlyArray(chunk)
        if (batch.length === 0) return Effect.succeed(chunk)
        return Effect.flatMap(this.state.changed(this.key, batch, identify.hash, this.since), (positions) => {
          const out: Array<string> = new Array(positions.length)
          for (let i = 0; i < positions.length; i++) out[i] = batch[positions[i]!]!
          return Effect.as(onUnchanged(batch.length - out.length), Chunk.unsafeFromArray(out))
        })
      })
    }
    // a per-record run: each record's hash (which covers its id) against the fingerprints read once
    const held = Effect.suspend(() =>
      this.held !== undefined
        ? Effect.succeed(this.held)
        : Effect.tap(this.state.fingerprints(this.key, this.since), (held) => {
          this.held = held
        })
    )
    return Stream.mapChunksEffect(items, (chunk) =>
      Effect.flatMap(held, (held) => {
        const out: Array<string> = []
        const ids: Array<string> = []
        const hashes: Array<string> = []
        let at = 0
        for (const item of chunk) {
          identify.of(item, ids, hashes)
          const hash = hashes[at]!
          if (!held.hasHash(hash)) {
            out.push(item)
            this.pending.set(ids[at]!, hash)
          }
          at++
        }
        return Effect.as(onUnchanged(at - out.length), Chunk.unsafeFromArray(out))
      }))
  }

  /**
   * Records as confirmed the items of `ids` (read from the report files of
   * the `DONE` action `asyncActionId`, as updated) that this run sent.
   */
  confirm(asyncActionId: string, ids: ReadonlyArray<string>, at: number): Effect.Effect<void, SyncState.SyncStateError> {
    const identify = this.identify
    if (identify._tag === "Same") return this.state.confirm(this.key, asyncActionId, ids, identify.hash, at)
    return Effect.suspend(() => {
      const sent: Array<string> = []
      const hashes: Array<string> = []
      for (const id of ids) {
        const hash = this.pending.get(id)
        // a report row for an id this run did not send says nothing of what it sent
        if (hash === undefined) continue
        sent.push(id)
        hashes.push(hash)
      }
      return Effect.tap(this.state.confirm(this.key, asyncActionId, sent, hashes, at), () => {
        for (const id of sent) this.pending.delete(id)
      })
    })
  }
}

/**
 * The ids of one-id-per-line bytes as strings, by the rules the byte packer
 * applies (blank lines skipped, an id with edge spaces or a control
 * character refused): a run with a state needs each id to look it up.
 * `maxLine`: the longest line worth reading; a longer one is no id that fits.
 */
export const lineIds = <E, R>(lines: Lines<E, R>, maxLine: number): Stream.Stream<string, E | IdLineError, R> =>
  decode(lines.bytes, () => {
    const text = new TextDecoder("utf-8", { ignoreBOM: true })
    const limit = { limit: maxLine, why: "longer than any id can be" }
    const splitter = new LineSplitter<string, IdLineError>(
      (bytes, start, end, line, out) => {
        const id = text.decode(bytes.subarray(start, end))
        if (isBlank(id)) return undefined
        const reason = idReason(id, "the id", true)
        if (reason !== undefined) return new IdLineError({ line, reason })
        out.push(id)
        return undefined
      },
      maxLine,
      (line, seen) => lineTooLong(line, limit, seen),
      true
    )
    return { push: (piece, out) => splitter.push(piece, out), end: (out) => splitter.end(out) }
  })
