/**
 * An id given twice in a records file, found before a run sends anything:
 * one read of the file keeps a 53-bit hash of each id (8 bytes an id), in
 * buckets by its top bits; a set per bucket finds the hashes held twice, and
 * only when there are some does a second read look at the real ids of those
 * hashes, so that a hash collision never refuses a good file.
 * Plain code, no Effect.
 *
 * @internal
 */
import { type IdFormat, idText, scanFile } from "./idScan.js"

export type { IdFormat } from "./idScan.js"

/** A hash of `bytes[start..end)`: an integer from 0 to 2^53 - 1. */
export type Hash = (bytes: Uint8Array, start: number, end: number) => number

/** Murmur3's finalizer: every bit of the input moves about half of the output's. */
const mix = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Two 32-bit hashes in one loop (FNV-1a and a multiply-add), each mixed, 53 bits of them kept: what a double holds exactly. */
export const hashBytes: Hash = (bytes, start, end) => {
  let a = 0x811c9dc5
  let b = end - start
  for (let i = start; i < end; i++) {
    const c = bytes[i]!
    a = Math.imul(a ^ c, 0x01000193)
    b = (Math.imul(b, 0x2f) + c) | 0
  }
  return mix(a) * 0x200000 + (mix(b) >>> 11)
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** The hash of an id token's text (`idScan.idText`), from its bytes when it is written without escapes. */
const tokenHash = (format: IdFormat, hash: Hash, bytes: Buffer, start: number, end: number): number | undefined => {
  const escape = format._tag === "Ndjson" ? BACKSLASH : QUOTE
  const quoted = format._tag === "Ndjson" || bytes[start] === QUOTE
  const from = quoted ? start + 1 : start
  const to = quoted ? end - 1 : end
  for (let i = from; i < to; i++) {
    if (bytes[i] === escape) {
      const text = idText(format, bytes, start, end)
      if (text === undefined) return undefined
      const utf8 = Buffer.from(text, "utf8")
      return hash(utf8, 0, utf8.length)
    }
  }
  return hash(bytes, from, to)
}

/** 256 buckets by a hash's top 8 bits, each a list of blocks of 1024 hashes: 8 bytes an id, and at most 2 MB half-filled. */
const bucketScale = 2 ** -45
const buckets = 256
const blockBits = 10
const blockSize = 1 << blockBits
const noBlock = new Float64Array(0)

/**
 * The hashes of one read, put in their bucket as they come (no sort of the
 * whole: each bucket is looked at on its own, in cache, at the end).
 */
const hashStore = () => {
  const blocks: Array<Array<Float64Array>> = Array.from({ length: buckets }, () => [])
  const current: Array<Float64Array> = Array.from({ length: buckets }, () => noBlock)
  // the hashes in each bucket's current block: a full one takes a new block first
  const filled = new Uint32Array(buckets).fill(blockSize)
  return {
    push: (hash: number): void => {
      const bucket = Math.floor(hash * bucketScale)
      if (filled[bucket] === blockSize) {
        current[bucket] = new Float64Array(blockSize)
        blocks[bucket]!.push(current[bucket]!)
        filled[bucket] = 0
      }
      current[bucket]![filled[bucket]!++] = hash
    },
    /** The hashes held more than once, sorted, each once; the store is emptied. */
    repeated: (): Float64Array => {
      // each bucket's repeats are written over its own first hashes, which were read before
      const repeats = new Uint32Array(buckets)
      let table = new Float64Array(0)
      for (let bucket = 0; bucket < buckets; bucket++) {
        const held = blocks[bucket]!
        if (held.length === 0) continue
        const count = (held.length - 1) * blockSize + filled[bucket]!
        // an open-addressing set of the bucket's hashes, at most half full; -1 is no hash
        let size = 16
        while (size < 2 * count) size *= 2
        if (table.length < size) table = new Float64Array(size)
        table.fill(-1, 0, size)
        const mask = size - 1
        let found = 0
        for (let i = 0; i < count; i++) {
          const hash = held[i >>> blockBits]![i & (blockSize - 1)]!
          let slot = (hash >>> 0) & mask
          while (table[slot] !== -1 && table[slot] !== hash) slot = (slot + 1) & mask
          if (table[slot] === hash) held[found >>> blockBits]![found++ & (blockSize - 1)] = hash
          else table[slot] = hash
        }
        repeats[bucket] = found
      }
      let total = 0
      for (const found of repeats) total += found
      const repeated = new Float64Array(total)
      total = 0
      blocks.forEach((held, bucket) => {
        for (let i = 0; i < repeats[bucket]!; i++) repeated[total++] = held[i >>> blockBits]![i & (blockSize - 1)]!
        blocks[bucket] = []
      })
      repeated.sort()
      let unique = 0
      for (let i = 0; i < total; i++) if (i === 0 || repeated[i] !== repeated[unique - 1]) repeated[unique++] = repeated[i]!
      return repeated.subarray(0, unique)
    }
  }
}

/** The position of `hash` in the sorted `hashes`, or -1. */
const indexOf = (hashes: Float64Array, hash: number): number => {
  let low = 0
  let high = hashes.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const at = hashes[middle]!
    if (at === hash) return middle
    if (at < hash) low = middle + 1
    else high = middle - 1
  }
  return -1
}

/** An id on two lines: `line`, the first line where an id comes again, and `first`, where it came before. */
export interface Duplicate {
  readonly id: string
  readonly first: number
  readonly line: number
  /** The record on `line`, from 0, as a report counts them. */
  readonly record: number
}

export interface Options {
  /** A record longer than this ends the look: the run refuses it. */
  readonly maxRecordBytes: number
  /** The hash of an id's bytes; tests force collisions with their own. */
  readonly hash?: Hash | undefined
  /** Stops the reading between reads of the file. */
  readonly signal?: AbortSignal | undefined
}

/**
 * What a look at a records file found: an id that comes again; every id of
 * every record different (`Distinct`: the run need not keep its ids to
 * check); or no repeat in what it could look at (`NoneSeen`).
 */
export type Look =
  | { readonly _tag: "Repeated"; readonly duplicate: Duplicate }
  | { readonly _tag: "Distinct" }
  | { readonly _tag: "NoneSeen" }

/**
 * The first line of the records file at `path` whose id came before, as the
 * run would find it. A record no reader takes (which the run refuses), one
 * whose id this look cannot find, or a longer one than `maxRecordBytes` ends
 * the certainty there: what came before it is looked at, and the run checks
 * the rest as it reads.
 */
export const findDuplicate = async (path: string, format: IdFormat, options: Options): Promise<Look> => {
  const hash = options.hash ?? hashBytes
  const { maxRecordBytes, signal } = options
  const store = hashStore()
  // an id token this look cannot read (a bad escape): the run refuses its record, and nothing after it is certain
  let unread = false
  const scanned = await scanFile(path, format, maxRecordBytes, (bytes, start, end) => {
    const h = tokenHash(format, hash, bytes, start, end)
    if (h !== undefined) store.push(h)
    else unread = true
  }, signal)
  const complete = scanned && !unread
  const repeated = store.repeated()
  if (repeated.length === 0) return { _tag: complete ? "Distinct" : "NoneSeen" }
  // Each repeated hash's first id: its line and where its token is in the file, read again only if the hash comes again.
  const firsts = new Float64Array(3 * repeated.length)
  // Hashes that turned out to be shared by different ids: each id, with its first line.
  const shared = new Map<number, Array<{ readonly id: string; readonly line: number }>>()
  let found: Duplicate | undefined
  await scanFile(path, format, maxRecordBytes, (bytes, start, end, line, record, offset, readBack) => {
    const h = tokenHash(format, hash, bytes, start, end)
    const at = h === undefined ? -1 : indexOf(repeated, h)
    if (at === -1) return false
    if (firsts[3 * at] === 0) {
      firsts[3 * at] = line
      firsts[3 * at + 1] = offset + start
      firsts[3 * at + 2] = offset + end
      return false
    }
    const id = idText(format, bytes, start, end)!
    let ids = shared.get(at)
    if (ids === undefined) {
      const token = readBack(firsts[3 * at + 1]!, firsts[3 * at + 2]!)
      ids = [{ id: idText(format, token, 0, token.length)!, line: firsts[3 * at]! }]
      shared.set(at, ids)
    }
    const before = ids.find((seen) => seen.id === id)
    if (before !== undefined) {
      found = { id, first: before.line, line, record }
      return true
    }
    ids.push({ id, line })
    return false
  }, signal)
  return found !== undefined ? { _tag: "Repeated", duplicate: found } : { _tag: complete ? "Distinct" : "NoneSeen" }
}
