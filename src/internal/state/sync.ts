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
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as SyncState from "../../SyncState.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import { IdLineError, idReason, isBlank, lineTooLong } from "../bulk/idLines.js"
import type { Lines } from "../bulk/model.js"
import type { KnownLines } from "../records/ndjson.js"
import { digestBytes, textHash } from "./contentHash.js"
import { type HashWorker, startHashWorker } from "./hashPool.js"
import { hashRecords, readRecord } from "./recordHashes.js"
import { decode } from "../text/decode.js"
import { LineSplitter } from "../text/lines.js"

/** How a kind of run names its items in the state: one hash for all (metadata), or each item's own (records). */
export type Identify =
  | { readonly _tag: "Same"; readonly kind: "metadata"; readonly hash: string }
  | {
    readonly _tag: "Each"
    readonly kind: "records"
    /** The field of a record that holds its id. */
    readonly idField: string
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
  // an empty state (a first fill) knows no line: no hash to take
  readonly isKnown = (text: string): boolean =>
    this.held !== undefined && this.held.size > 0 && this.held.hasHash(textHash(text))

  /** The lines passed over since the last call. */
  drain(): number {
    const skipped = this.skipped
    this.skipped = 0
    return skipped
  }
}

/**
 * The oldest confirmation a run counts, in epoch milliseconds: none is too
 * old without `stateMaxAge`, nor with an infinite one.
 */
export const stateSince = (maxAge: Duration.DurationInput | undefined): Effect.Effect<number> => {
  if (maxAge === undefined) return Effect.succeed(0)
  const age = Duration.decode(maxAge)
  return Duration.isFinite(age)
    ? Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, now - Duration.toMillis(age)))
    : Effect.succeed(0)
}

/**
 * Records sent by a run, in the order sent: each one's id, and its content
 * hash and the hash of its text as 32-byte digests, one record after another
 * (the form the hashing worker hands over, and the state takes).
 */
interface Sent {
  readonly ids: ReadonlyArray<string>
  readonly hashes: Uint8Array
  readonly texts: Uint8Array
}

/** Hashes in hex as a column of digests. */
const digestsOf = (hexes: ReadonlyArray<string>): Uint8Array => {
  const column = Buffer.alloc(hexes.length * digestBytes)
  for (let i = 0; i < hexes.length; i++) column.write(hexes[i]!, i * digestBytes, "hex")
  return column
}

/** Records hashed on this thread, in hex: as {@link Sent}. */
const sentOf = (ids: ReadonlyArray<string>, hashes: ReadonlyArray<string>, texts: ReadonlyArray<string>): Sent => ({
  ids,
  hashes: digestsOf(hashes),
  texts: digestsOf(texts)
})

/** Copies the digest at `from` of one column to `to` of another. */
const copyDigest = (source: Uint8Array, from: number, target: Uint8Array, to: number): void => {
  for (let b = 0; b < digestBytes; b++) target[to * digestBytes + b] = source[from * digestBytes + b]!
}

/** Records let through together: hashed on this thread, or still in the hashing worker. */
interface Batch {
  readonly count: number
  /** The records' ids and hashes: a promise while the worker hashes them, then what it answered. */
  sent: Sent | Promise<Sent>
}

/** The records of a body: a range of each batch it took them from. */
type Body = ReadonlyArray<{ readonly batch: Batch; readonly from: number; readonly to: number }>

export class Sync {
  /** Records let through and not yet in a body, in order (`head`: the first not taken of the first batch). */
  private readonly queue: Array<Batch> = []
  private head = 0
  /** The records of each body not yet confirmed or given up, by the body's offset. */
  private readonly bodies = new Map<number, Body>()
  private readonly key: SyncState.Key
  /** The hashing worker, once a first fill started it; `null` where none could start. */
  private worker: HashWorker | undefined | null = undefined

  constructor(
    private readonly state: SyncState.Service,
    target: BulkTarget,
    private readonly identify: Identify,
    /** Confirmations older than this (epoch milliseconds) do not count. */
    private readonly since: number,
    private readonly startWorker: (idField: string) => HashWorker | undefined = startHashWorker
  ) {
    this.key = { target, kind: identify.kind }
  }

  /**
   * The hashing worker of a first fill, started at its first batch (a run
   * over a filled state hashes the few records it did not know here).
   */
  private hasher(idField: string): HashWorker | undefined {
    if (this.worker === undefined) this.worker = this.startWorker(idField) ?? null
    return this.worker ?? undefined
  }

  /** Stops the hashing worker, if one started: at the end of the run. */
  close(): Promise<void> {
    return this.worker ? this.worker.close() : Promise.resolve()
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
        const hasher = held.size === 0 && Chunk.isNonEmpty(chunk) ? this.hasher(identify.idField) : undefined
        if (hasher !== undefined) {
          // An empty state: every record goes, and its hashes are first needed when its action is
          // confirmed. The worker hashes them meanwhile; a worker that fails (or could not load its
          // script) leaves them to this thread.
          const texts = Chunk.toReadonlyArray(chunk)
          const batch: Batch = {
            count: texts.length,
            sent: hasher.hash(texts).then(
              (hashed) => (batch.sent = { ids: hashed.ids, hashes: hashed.hashes, texts: hashed.sent }),
              () => {
                const hashed = hashRecords(texts, identify.idField)
                return (batch.sent = { ids: hashed.ids, hashes: hashed.hashes, texts: hashed.sent })
              }
            )
          }
          this.queue.push(batch)
          return Effect.as(onUnchanged(passed()), chunk)
        }
        const misses: Array<string> = []
        const texts: Array<string> = []
        for (const item of chunk) {
          const hash = textHash(item)
          if (held.hasHash(hash)) continue
          misses.push(item)
          texts.push(hash)
        }
        const ids: Array<string> = new Array(misses.length)
        const hashes: Array<string> = new Array(misses.length)
        for (let i = 0; i < misses.length; i++) {
          const { hash, id } = readRecord(misses[i]!, texts[i]!, identify.idField)
          ids[i] = id
          hashes[i] = hash
        }
        if (held.size === 0 || misses.length === 0) {
          // nothing to look up: every record goes
          if (misses.length > 0) this.queue.push({ count: misses.length, sent: sentOf(ids, hashes, texts) })
          return Effect.as(onUnchanged(Chunk.size(chunk) - misses.length + passed()), Chunk.unsafeFromArray(misses))
        }
        return Effect.flatMap(this.state.changed(this.key, ids, hashes, this.since), (positions) => {
          const out: Array<string> = new Array(positions.length)
          const sent = { ids: new Array<string>(positions.length), hashes: new Array<string>(positions.length), texts: new Array<string>(positions.length) }
          for (let i = 0; i < positions.length; i++) {
            const at = positions[i]!
            out[i] = misses[at]!
            sent.ids[i] = ids[at]!
            sent.hashes[i] = hashes[at]!
            sent.texts[i] = texts[at]!
          }
          if (out.length > 0) this.queue.push({ count: out.length, sent: sentOf(sent.ids, sent.hashes, sent.texts) })
          return Effect.as(onUnchanged(Chunk.size(chunk) - out.length + passed()), Chunk.unsafeFromArray(out))
        })
      })).pipe(Stream.ensuring(Effect.suspend(() => onUnchanged(passed()))))
  }

  /**
   * A body was cut from the next `count` records let through: they wait
   * for its action's report under its `offset` (the packer takes records in
   * the order {@link changed} lets them through).
   */
  packed(body: { readonly offset: number; readonly count: number }): void {
    if (this.identify._tag === "Same") return
    const parts: Array<Body[number]> = []
    let count = body.count
    while (count > 0 && this.queue.length > 0) {
      const first = this.queue[0]!
      const end = Math.min(first.count, this.head + count)
      parts.push({ batch: first, from: this.head, to: end })
      count -= end - this.head
      if (end === first.count) {
        this.queue.shift()
        this.head = 0
      } else {
        this.head = end
      }
    }
    this.bodies.set(body.offset, parts)
  }

  /** The body at `offset` ended without a confirmation (refused, unknown, failed, not followed): its records are let go. */
  forget(offset: number): void {
    this.bodies.delete(offset)
  }

  /**
   * Records as confirmed the items of `ids` (read from the report files of
   * the `DONE` action `asyncActionId`, the body at `offset`, as updated)
   * that this run sent in that body.
   */
  confirm(
    asyncActionId: string,
    offset: number,
    ids: ReadonlyArray<string>,
    at: number
  ): Effect.Effect<void, SyncState.SyncStateError> {
    const identify = this.identify
    if (identify._tag === "Same") {
      return this.state.confirm(this.key, asyncActionId, ids, { hashes: identify.hash, sent: identify.hash }, at)
    }
    const parts = this.bodies.get(offset) ?? []
    this.bodies.delete(offset)
    // the hashes of records still in the worker are waited for here, where they are first needed
    const waiting = parts.flatMap(({ batch }) => (batch.sent instanceof Promise ? [batch.sent] : []))
    const ready = waiting.length === 0 ? Effect.void : Effect.promise(() => Promise.all(waiting))
    return Effect.zipRight(ready, Effect.suspend(() => this.confirmBody(asyncActionId, parts, ids, at)))
  }

  private confirmBody(
    asyncActionId: string,
    parts: Body,
    ids: ReadonlyArray<string>,
    at: number
  ): Effect.Effect<void, SyncState.SyncStateError> {
    return Effect.suspend(() => {
      // the body's records in order: their ids, and their digests copied into columns of its own
      let total = 0
      for (const { from, to } of parts) total += to - from
      const bodyIds: Array<string> = new Array(total)
      const hashes = new Uint8Array(total * digestBytes)
      const texts = new Uint8Array(total * digestBytes)
      let k = 0
      for (const { batch, from, to } of parts) {
        // every batch of these parts is hashed by now (see confirm)
        const sent = batch.sent as Sent
        for (let i = from; i < to; i++) bodyIds[k + i - from] = sent.ids[i]!
        hashes.set(sent.hashes.subarray(from * digestBytes, to * digestBytes), k * digestBytes)
        texts.set(sent.texts.subarray(from * digestBytes, to * digestBytes), k * digestBytes)
        k += to - from
      }
      // A report lists its rows in the order sent, as a rule: walk both, and
      // look an id up only where the orders part. A row for an id this body
      // did not hold says nothing of what it sent; a row twice counts once.
      const taken = new Uint8Array(total)
      const order: Array<number> = []
      let next = 0
      let positions: Map<string, number> | undefined
      for (const id of ids) {
        let position: number | undefined = next
        if (bodyIds[next] === id) next++
        else {
          positions ??= new Map(bodyIds.map((id, i) => [id, i]))
          position = positions.get(id)
        }
        if (position === undefined || taken[position] === 1) continue
        taken[position] = 1
        order.push(position)
      }
      const n = order.length
      // the first n records of the body, in order (every record, as a rule): its columns as they are
      if (order.every((position, i) => position === i)) {
        return this.state.confirm(this.key, asyncActionId, n === total ? bodyIds : bodyIds.slice(0, n), {
          hashes: hashes.subarray(0, n * digestBytes),
          sent: texts.subarray(0, n * digestBytes)
        }, at)
      }
      const confirmed = { ids: new Array<string>(n), hashes: new Uint8Array(n * digestBytes), texts: new Uint8Array(n * digestBytes) }
      for (let i = 0; i < n; i++) {
        const position = order[i]!
        confirmed.ids[i] = bodyIds[position]!
        copyDigest(hashes, position, confirmed.hashes, i)
        copyDigest(texts, position, confirmed.texts, i)
      }
      return this.state.confirm(this.key, asyncActionId, confirmed.ids, { hashes: confirmed.hashes, sent: confirmed.texts }, at)
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
