/**
 * The statements that record a confirmation in an SQLite state, as data:
 * `sqlState.ts` runs them through `@effect/sql`, and the CLI's writer
 * thread (`src/cli/stateWriterThread.ts`) through the driver itself. Plain
 * code, no Effect: the thread loads nothing else.
 *
 * @internal
 */
import type { BulkTarget } from "../../VoucherifySchema.js"
import { digestBytes, hexDigits } from "./contentHash.js"

/** The table of confirmed items. */
export const stateTable = "voucherify_sync_state"

/** What the state keeps apart: an id of one target, updated through one kind of endpoint, is one item. */
export interface Key {
  readonly target: BulkTarget
  /** `metadata`: the metadata endpoints (the hash is the metadata's); `records`: the per-record ones. */
  readonly kind: "metadata" | "records"
}

/** Hashes as the state takes them: one a item in hex, one for all, or a column of 32-byte digests. */
export type Hashes = ReadonlyArray<string> | string | Uint8Array

/** The hashes of confirmed items: each one's content hash and the hash of its text as sent. */
export interface ConfirmedHashes {
  readonly hashes: Hashes
  readonly sent: Hashes
}

/** Items a SQLite statement takes at once: the ids as one JSON text, the hashes as one blob a column. */
export const sqliteBatch = 20_000

/** The hash of item `i` in lower-case hex, whatever form the hashes came in. */
export const hexAt = (hashes: Hashes, i: number): string =>
  typeof hashes === "string"
    ? hashes
    : hashes instanceof Uint8Array
    ? Buffer.from(hashes.buffer, hashes.byteOffset + i * digestBytes, digestBytes).toString("hex")
    : hashes[i]!

/**
 * Why `hashes` do not fit `count` items, or `undefined` when they do: one
 * for all, an array of one a item, or a column of one digest a item. (A
 * public `SyncState.Service` takes them from any caller: a short array or
 * column would write the rows of other items' hashes, or none.)
 */
export const hashesMisfit = (count: number, hashes: Hashes): string | undefined => {
  if (typeof hashes === "string") return undefined
  if (hashes instanceof Uint8Array) {
    return hashes.length === count * digestBytes
      ? undefined
      : `a column of ${hashes.length} bytes of digests for ${count} items (${digestBytes} bytes an item)`
  }
  return hashes.length === count ? undefined : `${hashes.length} hashes for ${count} items`
}

/**
 * The hashes of `[from, to)` as one blob of hex that SQLite cuts by
 * position (`substr` counts bytes in a blob, characters from the start in a
 * text); `undefined` for hashes of another width than {@link hexDigits}
 * ASCII characters (a multi-byte character would make the blob longer).
 */
const hexColumn = (hashes: Hashes, from: number, to: number): Buffer | undefined => {
  if (hashes instanceof Uint8Array) {
    // digests: their hex made here at once (SQLite's lower(hex(…)) a row measured a third slower)
    const digests = Buffer.from(hashes.buffer, hashes.byteOffset + from * digestBytes, (to - from) * digestBytes)
    return Buffer.from(digests.toString("hex"), "latin1")
  }
  const hex: Array<string> = []
  for (let i = from; i < to; i++) {
    const hash = hexAt(hashes, i)
    if (hash.length !== hexDigits) return undefined
    hex.push(hash)
  }
  const blob = Buffer.from(hex.join(""), "utf8")
  return blob.length === (to - from) * hexDigits ? blob : undefined
}

/** One statement of a confirmation: a plain insert, and the upsert that goes instead where a row is there already. */
export interface SqliteWrite {
  readonly insert: string
  readonly upsert: string
  readonly params: ReadonlyArray<string | number | Uint8Array>
}

/** The message of an error of a statement that a row already in the table refused (SQLite's primary key). */
export const conflictPattern = /UNIQUE constraint failed|SQLITE_CONSTRAINT/

const insertInto = `INSERT INTO ${stateTable} (target, kind, id, content_sha256, sent_sha256, confirmed_at, async_action_id) `
/** What an upsert sets of a row that is there already: all of it. */
export const upsertClause = "ON CONFLICT (target, kind, id) DO UPDATE SET content_sha256 = excluded.content_sha256, " +
  "sent_sha256 = excluded.sent_sha256, confirmed_at = excluded.confirmed_at, async_action_id = excluded.async_action_id"
const cut = `CAST(substr(?, i.key * ${hexDigits} + 1, ${hexDigits}) AS TEXT)`
const select = `SELECT ?, ?, i.value, ${cut}, ${cut}, ?, ? FROM json_each(?) AS i`
const columns = { insert: `${insertInto}${select}`, upsert: `${insertInto}${select} WHERE true ${upsertClause}` }
// hashes of another form (the service is public): a row as a JSON array each
const rowWise = `${insertInto}SELECT ?, ?, json_extract(i.value, '$[0]'), json_extract(i.value, '$[1]'), ` +
  `json_extract(i.value, '$[2]'), ?, ? FROM json_each(?) AS i WHERE true ${upsertClause}`

/**
 * The statements that record `ids[i]` as confirmed with its hashes at `at`
 * by the action `asyncActionId`, a batch each, to run in one transaction.
 * The ids go as one JSON array and each column of hashes as one blob cut
 * by position: no JSON per row to write, nor to parse three times a row
 * (2.2 s instead of 5 s for a million rows). Rows are new as a rule (a
 * first fill writes a million), so each batch is a plain insert first, a
 * fifth cheaper than an upsert; one that meets a row already there is undone
 * by SQLite, and the upsert goes instead. (`WHERE true`: SQLite's parser
 * needs it between a SELECT and an upsert clause.)
 */
export const confirmWrites = (
  key: Key,
  asyncActionId: string,
  ids: ReadonlyArray<string>,
  { hashes, sent }: ConfirmedHashes,
  at: number
): Array<SqliteWrite> => {
  const writes: Array<SqliteWrite> = []
  for (let from = 0; from < ids.length; from += sqliteBatch) {
    const to = Math.min(ids.length, from + sqliteBatch)
    const content = hexColumn(hashes, from, to)
    const sentColumn = hexColumn(sent, from, to)
    if (content !== undefined && sentColumn !== undefined) {
      writes.push({
        ...columns,
        params: [key.target, key.kind, content, sentColumn, at, asyncActionId, JSON.stringify(ids.slice(from, to))]
      })
      continue
    }
    const rows: Array<string> = []
    for (let i = from; i < to; i++) rows.push(JSON.stringify([ids[i], hexAt(hashes, i), hexAt(sent, i)]))
    writes.push({ insert: rowWise, upsert: rowWise, params: [key.target, key.kind, at, asyncActionId, `[${rows.join(",")}]`] })
  }
  return writes
}
