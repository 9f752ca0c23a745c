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
import type { KnownLines } from "../records/ndjson.js"
import { textHash } from "./contentHash.js"
import { decode } from "../text/decode.js"
import { LineSplitter } from "../text/lines.js"

/** How a kind of run names its items in the state: one hash for all (metadata), or each item's own (records). */
export type Identify =
  | { readonly _tag: "Same"; readonly kind: "metadata"; readonly hash: string }
  | {
    readonly _tag: "Each"
    readonly kind: "records"
    /** The id and the content hash of an item (a record's JSON text). */
    readonly read: (item: string) => { readonly id: string; readonly hash: string }
    /** Where the reader of the records passes over the lines the state knows, if it does. */
    readonly known?: KnownRecords | undefined
  }

/** What a sync state's fingerprints answer. */
interface Held {
  readonly size: number
  readonly hasHash: (hash: string) => boolean
}

/**
 * The lines an NDJSON reader may pass over unparsed: those whose exact text
 * the state holds as confirmed, once its fingerprints are read (the state's
 * stage reads them at its first batch; the lines before are parsed, and
 * looked up there). For a run whose ids are known to be distinct only: a line
 * passed over adds no id to the checker's.
 */
export class KnownRecords implements KnownLines {
  held: Held | undefined = undefined
  skipped = 0
  readonly isKnown = (text: string): boolean => this.held !== undefined && this.held.hasHash(textHash(text))

  /** The lines passed over since the last call. */
  drain(): number {
    const skipped = this.skipped
    this.skipped = 0
    return skipped
  }
}

export class Sync {
  /** Records sent by this run and not yet confirmed: id → the content hash and the text hash sent. */
  private readonly pending = new Map<string, { readonly hash: string; readonly sent: string }>()
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
  private held: Held | undefined

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
    // A per-record run: the hash of each record's text against the fingerprints read once; a
    // record whose text the state has not seen confirmed is parsed, and its canonical hash looked
    // up (its keys may only have moved). An empty state holds nothing to look up.
    const held = Effect.suspend(() =>
      this.held !== undefined
        ? Effect.succeed(this.held)
        : Effect.tap(this.state.fingerprints(this.key, this.since), (held) => {
          this.held = held
          if (identify.known !== undefined) identify.known.held = held
        })
    )
    const known = identify.known
    // the lines the reader passed over, counted as they are (and, at the end, whatever ends the input)
    const passed = () => (known === undefined ? 0 : known.drain())
    return Stream.mapChunksEffect(items, (chunk) =>
      Effect.flatMap(held, (held) => {
        const misses: Array<string> = []
        const sent: Array<string> = []
        for (const item of chunk) {
          const hash = textHash(item)
          if (held.hasHash(hash)) continue
          misses.push(item)
          sent.push(hash)
        }
        const ids: Array<string> = new Array(misses.length)
        const hashes: Array<string> = new Array(misses.length)
        for (let i = 0; i < misses.length; i++) {
          const { hash, id } = identify.read(misses[i]!)
          ids[i] = id
          hashes[i] = hash
        }
        const changed = held.size === 0 || misses.length === 0
          ? Effect.succeed(misses.map((_, i) => i))
          : this.state.changed(this.key, ids, hashes, this.since)
        return Effect.flatMap(changed, (positions) => {
          const out: Array<string> = new Array(positions.length)
          for (let i = 0; i < positions.length; i++) {
            const at = positions[i]!
            out[i] = misses[at]!
            this.pending.set(ids[at]!, { hash: hashes[at]!, sent: sent[at]! })
          }
          return Effect.as(onUnchanged(Chunk.size(chunk) - out.length + passed()), Chunk.unsafeFromArray(out))
        })
      })).pipe(Stream.ensuring(Effect.suspend(() => onUnchanged(passed()))))
  }

  /**
   * Records as confirmed the items of `ids` (read from the report files of
   * the `DONE` action `asyncActionId`, as updated) that this run sent.
   */
  confirm(asyncActionId: string, ids: ReadonlyArray<string>, at: number): Effect.Effect<void, SyncState.SyncStateError> {
    const identify = this.identify
    if (identify._tag === "Same") {
      return this.state.confirm(this.key, asyncActionId, ids, { hashes: identify.hash, sent: identify.hash }, at)
    }
    return Effect.suspend(() => {
      const confirmed: Array<string> = []
      const hashes: Array<string> = []
      const sent: Array<string> = []
      for (const id of ids) {
        const item = this.pending.get(id)
        // a report row for an id this run did not send says nothing of what it sent
        if (item === undefined) continue
        confirmed.push(id)
        hashes.push(item.hash)
        sent.push(item.sent)
      }
      return Effect.tap(this.state.confirm(this.key, asyncActionId, confirmed, { hashes, sent }, at), () => {
        for (const id of confirmed) this.pending.delete(id)
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
