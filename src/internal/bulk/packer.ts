/**
 * The packer: cuts a stream of items into the fewest request bodies that fit
 * the limit. An item is an id (written as a JSON string) or a whole record
 * already encoded as JSON text (written as it is); a {@link Frame} says what
 * surrounds them in a body. The per-item work is plain code over arrays;
 * Effect only sees one step per input chunk and one per body.
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
import type { BulkChunk } from "./model.js"
import { InvalidRequestError } from "../../VoucherifyError.js"
import { largestMaxPayloadBytes, payloadBytesReason } from "../limits.js"
import { controlAt, controlReason } from "./idLines.js"
import { encodeMetadata, type Frame, jsonStringBytes, metadataFrame } from "./payload.js"

/** The packer's own check of an id: not empty, no control character (the rule of `idLines.ts`). */
const isValidId = (id: string): boolean => id.length > 0 && controlAt(id) === -1

/** `"x"`: the smallest id takes three bytes in a body. */
const smallestIdBytes = 3

// Literals in this module, not imported from a shared one: an imported binding is a load at every
// use in the library's unbundled build, and cost this loop 5 to 15% (benchmark 1, six runs alternated).
const QUOTE = 0x22
export const COMMA = 0x2c

/** How to pack: the frame, the largest body, and whether repeated items are dropped. */
export interface Packing {
  readonly frame: Frame
  readonly maxBytes: number
  readonly dedupe: boolean
}

/**
 * The packing, or the error that makes packing impossible whatever the
 * items: a size outside the one rule, or a frame that leaves no room.
 */
export const makePacking = (
  frame: Frame,
  maxBytes: number,
  dedupe: boolean,
  largest: number = largestMaxPayloadBytes
): Packing | InvalidRequestError => {
  const reason = payloadBytesReason(maxBytes, largest)
  if (reason !== undefined) return new InvalidRequestError({ path: "maxBytes", reason })
  const frameBytes = Buffer.byteLength(frame.head) + Buffer.byteLength(frame.tail)
  if (maxBytes - frameBytes < smallestIdBytes) {
    return new InvalidRequestError({
      path: frame.quoted ? "metadata" : "maxBytes",
      reason: `the body frame${frame.quoted ? " and metadata" : ""} take ${frameBytes} bytes, leaving no room for ` +
        `an item within ${maxBytes}`
    })
  }
  return { frame, maxBytes, dedupe }
}

/**
 * The packing of a metadata update, with its metadata's JSON text (encoded
 * once: the bodies, the size check and a journal's hash all use it), or
 * the error that makes packing impossible.
 */
export const metadataPacking = (
  field: "source_ids" | "codes",
  metadata: unknown,
  maxBytes: number,
  dedupe: boolean,
  largest?: number
): { readonly packing: Packing; readonly metadataJson: string } | InvalidRequestError => {
  const metadataJson = encodeMetadata(metadata)
  if (typeof metadataJson !== "string") return metadataJson
  const packing = makePacking(metadataFrame(field, metadataJson), maxBytes, dedupe, largest)
  return packing instanceof InvalidRequestError ? packing : { packing, metadataJson }
}

/**
 * Writes `id` as a JSON string at `at`, if it ends by `limit`; returns its
 * end, or -1 when it does not fit. Exact for any string: measured first.
 */
export const writeJson = (buffer: Buffer, at: number, id: string, limit: number): number => {
  const bytes = jsonStringBytes(id)
  if (at + bytes > limit) return -1
  buffer.write(JSON.stringify(id), at, "utf8")
  return at + bytes
}

/** Writes JSON text as it is at `at`, if it ends by `limit`; returns its end, or -1. */
const writeRaw = (buffer: Buffer, at: number, json: string, limit: number): number => {
  const bytes = Buffer.byteLength(json, "utf8")
  if (at + bytes > limit) return -1
  buffer.write(json, at, "utf8")
  return at + bytes
}

/**
 * A packed body. Its ids are not kept as strings (holding 700,000 strings a
 * body is most of what a bulk run would otherwise keep alive): `ids` decodes
 * them from the body on first use, exactly, since the body is their JSON.
 */
class PackedChunk implements BulkChunk {
  private decoded: ReadonlyArray<string> | undefined
  constructor(
    readonly index: number,
    readonly offset: number,
    readonly count: number,
    readonly size: number,
    readonly bytes: number,
    readonly body: Uint8Array,
    private readonly frame: Frame
  ) {}
  get ids(): ReadonlyArray<string> {
    this.decoded ??= this.frame.idsOf(
      JSON.parse(Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength).toString("utf8"))
    )
    return this.decoded
  }
}

/**
 * The mutable state of one packing run. Each id is written into the body
 * the moment it is read, so the id strings die young; the caller decides
 * when a new body may be started ({@link open}), which bounds memory.
 * Subclasses feed other kinds of input into the same body (`bulkLines.ts`).
 */
export class Packer {
  /** The body being filled, or undefined until {@link open}. */
  protected buffer: Buffer | undefined
  /** Bytes written into `buffer`: the head, then the ids and their commas. */
  protected length = 0
  /** Ids in the pending body. */
  protected size = 0
  /** Input position of the first id of the pending chunk. */
  private start = 0
  /** Input position of the next id to read. */
  protected position = 0
  private index = 0
  protected readonly seen: Set<string> | undefined
  private readonly head: Buffer
  private readonly tail: Buffer
  /** Ids may fill the body up to this offset; the tail takes the rest. */
  protected readonly idsEnd: number

  readonly maxBytes: number
  protected readonly frame: Frame

  constructor(
    packing: Packing,
    /** Buffers of sent bodies, handed back by the engine to be filled again. */
    private readonly recycled: Array<Buffer> = []
  ) {
    this.frame = packing.frame
    this.maxBytes = packing.maxBytes
    this.head = Buffer.from(packing.frame.head, "utf8")
    this.tail = Buffer.from(packing.frame.tail, "utf8")
    this.idsEnd = packing.maxBytes - this.tail.length
    this.seen = packing.dedupe ? new Set() : undefined
  }

  /** Room for items beside the frame: the most bytes one item may take in a body. */
  protected get room(): number {
    return this.maxBytes - this.head.length - this.tail.length
  }

  /** Whether ids are waiting to be cut into a body. */
  get pending(): boolean {
    return this.size > 0
  }

  /** Whether a body is being filled; if not, {@link open} one before feeding. */
  get isOpen(): boolean {
    return this.buffer !== undefined
  }

  /** Starts a new body. */
  open(): void {
    // Reusing a sent body's buffer spares the garbage collector 10 MB a body,
    // which otherwise costs a full collection every few bodies.
    const buffer = this.recycled.pop() ?? Buffer.allocUnsafe(this.maxBytes)
    this.head.copy(buffer, 0)
    this.buffer = buffer
    this.length = this.head.length
  }

  /**
   * Writes `input[from..]` into the open body. Returns the index of the
   * first id that did not fit (cut, open, then feed again from there),
   * `input.length` when all were taken, or the error for an invalid id.
   */
  feed(input: ReadonlyArray<string>, from: number): number | InvalidRequestError {
    if (!this.frame.quoted) return this.feedRaw(input, from)
    const buffer = this.buffer!
    const idsEnd = this.idsEnd
    const seen = this.seen
    // locals, not fields, in the loop: it runs once per id
    let length = this.length
    let size = this.size
    let position = this.position
    let i = from
    for (; i < input.length; i++) {
      const id = input[i]
      // an empty id, refused below
      if (id.length === 0) break
      if (seen !== undefined && seen.has(id)) {
        position++
        continue
      }
      const n = id.length
      const comma = size > 0 ? 1 : 0
      // every UTF-16 unit takes at least one byte, so this bound holds for any id
      if (length + comma + n + 2 > idsEnd) break
      // Write optimistically as printable ASCII, which JSON copies as is:
      // measuring and copying in one pass over the characters.
      const at = length + comma + 1
      let plain = true
      for (let k = 0; k < n; k++) {
        const c = id.charCodeAt(k)
        // DEL (0x7f) is no printable character: it takes the path below, and is refused there
        if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) {
          plain = false
          break
        }
        buffer[at + k] = c
      }
      let end: number
      if (plain) {
        buffer[at - 1] = QUOTE
        buffer[at + n] = QUOTE
        end = at + n + 1
      } else {
        // a control character: refused below
        if (controlAt(id) !== -1) break
        end = writeJson(buffer, length + comma, id, idsEnd)
        if (end < 0) break
      }
      if (comma === 1) buffer[length] = COMMA
      length = end
      size++
      seen?.add(id)
      position++
    }
    this.length = length
    this.size = size
    this.position = position
    if (i < input.length && (size === 0 || !isValidId(input[i]!))) return this.refuse(input[i]!)
    return i
  }

  /** {@link feed} for items that are JSON text already (records): copied as they are. */
  private feedRaw(input: ReadonlyArray<string>, from: number): number | InvalidRequestError {
    const buffer = this.buffer!
    let i = from
    for (; i < input.length; i++) {
      const item = input[i]!
      const comma = this.size > 0 ? 1 : 0
      const end = writeRaw(buffer, this.length + comma, item, this.idsEnd)
      if (end < 0) break
      if (comma === 1) buffer[this.length] = COMMA
      this.length = end
      this.size++
      this.position++
    }
    if (i < input.length && this.size === 0) return this.refuse(input[i]!)
    return i
  }

  /** Ids read so far (with `dedupe`, the repeated ones too). */
  get idsRead(): number {
    return this.position
  }

  /** The error for an id that can never be sent. */
  protected refuse(item: string): InvalidRequestError {
    if (item.length === 0) return this.invalid("must not be empty")
    if (!this.frame.quoted) return this.invalid(this.tooLarge(Buffer.byteLength(item, "utf8")))
    return this.invalid(controlReason(item, "the id") ?? this.tooLarge(jsonStringBytes(item)))
  }

  /** Why an item that takes `bytes` in a body, more than {@link room}, can never be sent. */
  protected tooLarge(bytes: number): string {
    return `takes ${bytes} bytes, more than the ${this.room} left by the limit of ${this.maxBytes} bytes ${this.frame.beside}`
  }

  /** Closes the pending body and returns it; {@link open} starts the next. */
  cut(): BulkChunk {
    const buffer = this.buffer!
    this.tail.copy(buffer, this.length)
    const bytes = this.length + this.tail.length
    // A full body keeps its buffer; a short one (the last, usually) gets a
    // copy of its own size rather than pinning `maxBytes` of memory.
    const body = bytes >= buffer.length - (buffer.length >> 3)
      ? buffer.subarray(0, bytes)
      : Uint8Array.prototype.slice.call(buffer, 0, bytes)
    const chunk = new PackedChunk(this.index++, this.start, this.position - this.start, this.size, bytes, body, this.frame)
    this.buffer = undefined
    this.start = this.position
    this.size = 0
    return chunk
  }

  private invalid(reason: string): InvalidRequestError {
    const offset = this.position
    return new InvalidRequestError({ path: `${this.frame.itemPath}[${offset}]`, reason, offset })
  }
}

/**
 * Hooks the engine uses to bound memory and account for ids. `onRead` runs
 * as ids are taken from the input (before any body that holds them is
 * emitted), `beforeBody` before each body is built (the engine waits there
 * for a free slot), `onChunk` right after.
 */
export interface PackHooks<E, R> {
  readonly onRead?: ((ids: number) => Effect.Effect<void, E, R>) | undefined
  readonly beforeBody?: Effect.Effect<void, E, R> | undefined
  readonly onChunk?: ((chunk: BulkChunk) => Effect.Effect<void, E, R>) | undefined
  /** Where the engine puts the buffers of bodies it no longer needs (see {@link recycle}). */
  readonly recycled?: Array<Buffer> | undefined
}

/**
 * Hands a sent body's buffer back for the next body. Only for bodies that
 * nobody reads any more: the next body overwrites it. Short bodies are
 * copies of their own size and are left to the collector.
 */
export const recycle = (recycled: Array<Buffer>, body: Uint8Array, maxBytes: number): void => {
  if (body.byteOffset === 0 && body.buffer.byteLength === maxBytes && body.buffer instanceof ArrayBuffer) {
    recycled.push(Buffer.from(body.buffer, 0, maxBytes))
  }
}

/** A packing channel: `In` chunks in, one body per pull out. */
export type PackChannel<In, OutErr, InErr, R> = Channel.Channel<
  Chunk.Chunk<BulkChunk>,
  Chunk.Chunk<In>,
  OutErr,
  InErr,
  unknown,
  unknown,
  R
>

/**
 * Runs `next` in an open body: opens one first if needed, once
 * `beforeBody` lets it (a new body is allocated only once the consumer has
 * room for it).
 */
export const inOpenBody = <In, OutErr, InErr, R>(
  packer: Packer,
  hooks: PackHooks<OutErr, R>,
  next: () => PackChannel<In, OutErr, InErr, R>
): PackChannel<In, OutErr, InErr, R> => {
  if (packer.isOpen) return next()
  const open = Channel.suspend(() => {
    packer.open()
    return next()
  })
  return hooks.beforeBody === undefined ? open : Channel.flatMap(Channel.fromEffect(hooks.beforeBody), () => open)
}

/** Cuts the pending body, emits it, then goes on with `next`. */
export const emitBody = <In, OutErr, InErr, R>(
  packer: Packer,
  hooks: PackHooks<OutErr, R>,
  next: PackChannel<In, OutErr, InErr, R>
): PackChannel<In, OutErr, InErr, R> => {
  const write = Channel.suspend(() => {
    const chunk = packer.cut()
    const out = Channel.write(Chunk.of(chunk))
    return hooks.onChunk === undefined ? out : Channel.flatMap(Channel.fromEffect(hooks.onChunk(chunk)), () => out)
  })
  return Channel.flatMap(write, () => next)
}

/** Tells `onRead` about `ids` taken from the input, then goes on with `next`. */
export const countRead = <In, OutErr, InErr, R>(
  hooks: PackHooks<OutErr, R>,
  ids: number,
  next: PackChannel<In, OutErr, InErr, R>
): PackChannel<In, OutErr, InErr, R> =>
  hooks.onRead === undefined || ids === 0 ? next : Channel.flatMap(Channel.fromEffect(hooks.onRead(ids)), () => next)

/**
 * The packing channel for ids as strings. It emits one body per pull, so a
 * slow consumer holds back the building of the next body (back-pressure),
 * however large the input chunks are.
 */
export const packChannel = <InErr, E = never, R = never>(
  packing: Packing,
  hooks: PackHooks<E, R> = {}
): PackChannel<string, InErr | InvalidRequestError | E, InErr, R> =>
  Channel.suspend(() => {
    type Pack = PackChannel<string, InErr | InvalidRequestError | E, InErr, R>
    const packer = new Packer(packing, hooks.recycled)

    const drain = (input: ReadonlyArray<string>, from: number): Pack =>
      Channel.suspend(() =>
        inOpenBody(packer, hooks, () => {
          const stop = packer.feed(input, from)
          if (typeof stop !== "number") return Channel.fail(stop)
          return stop < input.length ? emitBody(packer, hooks, drain(input, stop)) : read
        })
      )

    const read: Pack = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<string>) => countRead(hooks, input.length, drain(Chunk.toReadonlyArray(input), 0)),
      onFailure: (cause: Cause.Cause<InErr>) => Channel.failCause(cause),
      onDone: () => (packer.pending ? emitBody(packer, hooks, Channel.void) : Channel.void)
    })
    return read
  })

/** Splits an array into stream chunks without copying each id through an iterator. */
export const fromArray = <A>(items: ReadonlyArray<A>, size = 65_536): Stream.Stream<A> =>
  Stream.unfoldChunk(0, (from) =>
    from < items.length
      ? Option.some([Chunk.unsafeFromArray(items.slice(from, from + size)), from + size] as const)
      : Option.none())

/** A stream as it is, an array or any iterable as a stream: the items of ids or of records. */
export const fromInput = <A, E, R>(items: Stream.Stream<A, E, R> | Iterable<A>): Stream.Stream<A, E, R> =>
  Array.isArray(items)
    ? fromArray(items as ReadonlyArray<A>)
    : Predicate.hasProperty(items, Stream.StreamTypeId)
    ? items as Stream.Stream<A, E, R>
    : Stream.fromIterable(items as Iterable<A>)
