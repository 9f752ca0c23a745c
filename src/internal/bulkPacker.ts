/**
 * The packer: cuts a stream of ids into the fewest request bodies that fit
 * the limit. The per-id work is plain code over arrays; Effect only sees one
 * step per input chunk and one per body.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { BulkChunk, ChunkOptions } from "../BulkMetadata.js"
import { InvalidRequestError } from "../VoucherifyError.js"
import { bodyFrame, encodeMetadata, invalidIdReason, jsonStringBytes } from "./payload.js"

const isValidId = (id: unknown): id is string => typeof id === "string" && id.length > 0

/** 10 MB: Voucherify's limit on the Content-Length of a bulk request. */
export const defaultMaxBytes = 10_485_760

/** `"x"`: the smallest id takes three bytes in a body. */
const smallestIdBytes = 3

const encoder = new TextEncoder()

/**
 * The mutable state of one packing run. `feed` only accumulates ids and
 * stops where a body must be cut, so that the caller decides when the body
 * (the memory-heavy part) gets built.
 */
export class Packer {
  private ids: Array<string> = []
  /** Bytes of the ids part of the body, commas included. */
  private idsBytes = 0
  /** Input position of the first id of the pending chunk. */
  private start = 0
  /** Input position of the next id to read. */
  private position = 0
  private index = 0
  private readonly seen: Set<string> | undefined
  private readonly prefix: string
  private readonly suffix: string
  private readonly room: number
  /** Whether every pending id is printable ASCII without quotes or backslashes. */
  private plain = true
  private readonly asciiFrame: boolean

  constructor(
    private readonly field: "source_ids" | "codes",
    metadataJson: string,
    readonly maxBytes: number,
    dedupe: boolean
  ) {
    const frame = bodyFrame(field, metadataJson)
    // `JSON.stringify(ids)` brings its own brackets: drop the frame's.
    this.prefix = frame.head.slice(0, -1)
    this.suffix = frame.tail.slice(1)
    this.room = maxBytes - frame.bytes
    this.asciiFrame = frame.bytes === frame.head.length + frame.tail.length
    this.seen = dedupe ? new Set() : undefined
  }

  /** Whether even the smallest id would not fit next to the metadata. */
  get noRoom(): boolean {
    return this.room < smallestIdBytes
  }

  get frameBytes(): number {
    return this.maxBytes - this.room
  }

  /** Whether ids are waiting to be cut into a body. */
  get pending(): boolean {
    return this.ids.length > 0
  }

  /**
   * Adds `input[from..]` to the pending chunk. Returns the index of the
   * first id that did not fit (cut, then feed again from there),
   * `input.length` when all were taken, or the error for an invalid id.
   */
  feed(input: ReadonlyArray<unknown>, from: number): number | InvalidRequestError {
    const room = this.room
    const ids = this.ids
    const seen = this.seen
    // locals, not fields, in the loop: it runs once per id
    let idsBytes = this.idsBytes
    let plain = this.plain
    let position = this.position
    let i = from
    for (; i < input.length; i++) {
      const id = input[i]
      if (typeof id !== "string" || id.length === 0) break
      if (seen !== undefined && seen.has(id)) {
        position++
        continue
      }
      const bytes = jsonStringBytes(id)
      if (ids.length === 0) {
        if (bytes > room) break
        this.start = position
        idsBytes = bytes
        plain = true
      } else if (idsBytes + 1 + bytes > room) {
        break
      } else {
        idsBytes += 1 + bytes
      }
      // one byte a character and nothing escaped: JSON adds only the quotes
      plain = plain && bytes === id.length + 2
      ids.push(id)
      seen?.add(id)
      position++
    }
    this.idsBytes = idsBytes
    this.plain = plain
    this.position = position
    return i < input.length && ids.length === 0 || i < input.length && !isValidId(input[i])
      ? this.refuse(input[i])
      : i
  }

  /** The error for an id that can never be sent. */
  private refuse(id: unknown): InvalidRequestError {
    const reason = invalidIdReason(id)
    if (reason !== undefined) return this.invalid(reason)
    const bytes = jsonStringBytes(id as string)
    return this.invalid(
      `takes ${bytes} bytes, more than the ${this.room} left by the limit of ${this.maxBytes} bytes next to the metadata`
    )
  }

  /** Builds the body of the pending ids and starts a new chunk. */
  cut(): BulkChunk {
    const ids = this.ids
    const bytes = this.frameBytes + this.idsBytes
    // Plain ids (the usual case) need no escaping: joining them and copying
    // the one-byte string is about twice as fast as JSON.stringify and UTF-8.
    const body = this.plain && this.asciiFrame
      ? Buffer.from(`${this.prefix}["${ids.join("\",\"")}"]${this.suffix}`, "latin1")
      : encoder.encode(`${this.prefix}${JSON.stringify(ids)}${this.suffix}`)
    if (body.byteLength !== bytes) {
      // the measurement and the encoder disagree: a bug, never a user error
      throw new Error(`BulkMetadata: measured ${bytes} bytes but encoded ${body.byteLength}`)
    }
    const chunk: BulkChunk = {
      index: this.index++,
      offset: this.start,
      count: this.position - this.start,
      ids,
      bytes,
      body
    }
    this.start = this.position
    this.ids = []
    this.idsBytes = 0
    this.plain = true
    return chunk
  }

  private invalid(reason: string): InvalidRequestError {
    const offset = this.position
    return new InvalidRequestError({ path: `${this.field}[${offset}]`, reason, offset })
  }
}

/**
 * Validates the options and returns a fresh packer, or the error that makes
 * packing impossible whatever the ids.
 */
export const makePacker = (options: ChunkOptions): Packer | InvalidRequestError => {
  const maxBytes = options.maxBytes ?? defaultMaxBytes
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    return new InvalidRequestError({ path: "maxBytes", reason: `must be a positive integer, got ${maxBytes}` })
  }
  const field = options.field ?? "source_ids"
  if (field !== "source_ids" && field !== "codes") {
    return new InvalidRequestError({ path: "field", reason: `must be "source_ids" or "codes", got ${String(field)}` })
  }
  const metadataJson = encodeMetadata(options.metadata)
  if (typeof metadataJson !== "string") return metadataJson
  const packer = new Packer(field, metadataJson, maxBytes, options.dedupe === true)
  if (packer.noRoom) {
    return new InvalidRequestError({
      path: "metadata",
      reason: `the body frame and metadata take ${packer.frameBytes} bytes, leaving no room for an id within ${maxBytes}`
    })
  }
  return packer
}

/**
 * Hooks the engine uses to bound memory and account for ids. `beforeBody`
 * runs before each body is built (the engine waits there for a free slot),
 * `onChunk` right after.
 */
export interface PackHooks<E, R> {
  readonly beforeBody?: Effect.Effect<void, E, R> | undefined
  readonly onChunk?: ((chunk: BulkChunk) => Effect.Effect<void, E, R>) | undefined
}

type PackChannel<InErr, E, R> = Channel.Channel<
  Chunk.Chunk<BulkChunk>,
  Chunk.Chunk<string>,
  InErr | InvalidRequestError | E,
  InErr,
  unknown,
  unknown,
  R
>

/**
 * The packing channel. It emits one body per pull, so a slow consumer holds
 * back the building of the next body (back-pressure), however large the
 * input chunks are.
 */
export const packChannel = <InErr, E = never, R = never>(
  options: ChunkOptions,
  hooks: PackHooks<E, R> = {}
): PackChannel<InErr, E, R> =>
  Channel.suspend(() => {
    const packer = makePacker(options)
    if (packer instanceof InvalidRequestError) return Channel.fail(packer)

    const emit = (next: PackChannel<InErr, E, R>): PackChannel<InErr, E, R> => {
      const write = Channel.suspend(() => {
        const chunk = packer.cut()
        const out = Channel.write(Chunk.of(chunk))
        return hooks.onChunk === undefined ? out : Channel.flatMap(Channel.fromEffect(hooks.onChunk(chunk)), () => out)
      })
      const gated = hooks.beforeBody === undefined
        ? write
        : Channel.flatMap(Channel.fromEffect(hooks.beforeBody), () => write)
      return Channel.flatMap(gated, () => next)
    }

    const drain = (input: ReadonlyArray<string>, from: number): PackChannel<InErr, E, R> =>
      Channel.suspend(() => {
        const stop = packer.feed(input, from)
        if (typeof stop !== "number") return Channel.fail(stop)
        return stop < input.length ? emit(drain(input, stop)) : read
      })

    const read: PackChannel<InErr, E, R> = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<string>) => drain(Chunk.toReadonlyArray(input), 0),
      onFailure: (cause: Cause.Cause<InErr>) => Channel.failCause(cause),
      onDone: () => (packer.pending ? emit(Channel.void) : Channel.void)
    })
    return read
  })

/** `BulkMetadata.chunk`. */
export const chunk = <E, R>(self: Stream.Stream<string, E, R>, options: ChunkOptions) =>
  Stream.pipeThroughChannelOrFail(self, packChannel<E>(options))

/** Splits an array into stream chunks without copying each id through an iterator. */
export const fromArray = <A>(items: ReadonlyArray<A>, size = 65_536): Stream.Stream<A> =>
  Stream.unfoldChunk(0, (from) =>
    from < items.length
      ? Option.some([Chunk.unsafeFromArray(items.slice(from, from + size)), from + size] as const)
      : Option.none())

/** An array or any iterable as a stream. */
export const fromInput = <E, R>(ids: Stream.Stream<string, E, R> | Iterable<string>): Stream.Stream<string, E, R> =>
  Array.isArray(ids)
    ? fromArray(ids)
    : Predicate.hasProperty(ids, Stream.StreamTypeId)
    ? ids as Stream.Stream<string, E, R>
    : Stream.fromIterable(ids as Iterable<string>)
