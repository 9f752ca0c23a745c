/**
 * The sync state over `@effect/sql`: two tables, written only by
 * {@link make}'s service. SQLite (the CLI's file, `@effect/sql-libsql`) gets
 * set-based statements that pass a whole batch as one JSON parameter; any
 * other database the portable `IN (…)` and multi-row `INSERT`.
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import { conflictPattern, type ConfirmedHashes, confirmWrites, hexAt, type Key, sqliteBatch, stateTable, upsertClause } from "./sqliteWrites.js"
import { fingerprintDigits, FingerprintSet } from "./fingerprints.js"

export type { Hashes, Key } from "./sqliteWrites.js"
export { stateTable }

/** The table that says which version of this schema the database holds (the table of items: `sqliteWrites.ts`). */
export const metaTable = "voucherify_sync_meta"
/** The version of the tables this code reads and writes; a database of a later one is refused. */
export const schemaVersion = 1

/** Why a database cannot serve as a sync state. */
export type Refusal =
  | { readonly _tag: "NewerVersion"; readonly version: string }
  | { readonly _tag: "NotAState"; readonly reason: string }

// Batches: a SQLite statement takes its batch as one JSON text; elsewhere each id is a parameter
// (PostgreSQL takes 65,535 of them, SQL Server 2,100).
const portableBatch = 500

const ddl = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({
    sqlite: () =>
      sql.unsafe(
        `CREATE TABLE IF NOT EXISTS ${stateTable} (target TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, ` +
          `content_sha256 TEXT NOT NULL, sent_sha256 TEXT NOT NULL, confirmed_at INTEGER NOT NULL, async_action_id TEXT NOT NULL, ` +
          `PRIMARY KEY (target, kind, id)) WITHOUT ROWID`
      ),
    orElse: () =>
      sql.unsafe(
        `CREATE TABLE IF NOT EXISTS ${stateTable} (target VARCHAR(16) NOT NULL, kind VARCHAR(16) NOT NULL, ` +
          `id VARCHAR(1024) NOT NULL, content_sha256 CHAR(64) NOT NULL, sent_sha256 CHAR(64) NOT NULL, confirmed_at BIGINT NOT NULL, ` +
          `async_action_id VARCHAR(64) NOT NULL, PRIMARY KEY (target, kind, id))`
      )
  })

/** The version row, if the meta table exists; `undefined` when the database holds no state yet. */
const readVersion = (sql: SqlClient.SqlClient): Effect.Effect<string | undefined, SqlError> =>
  sql.unsafe<{ value: string }>(`SELECT value FROM ${metaTable} WHERE name = 'schema_version'`).pipe(
    Effect.map((rows) => rows[0]?.value ?? ""),
    // no such table: a database this code may set up
    // SQLite says "no such table", PostgreSQL "relation … does not exist"
    Effect.catchIf((error) => /no such table|does not exist/i.test(messageOf(error)), () =>
      Effect.succeed(undefined))
  )

const messageOf = (error: SqlError): string => {
  const cause = error.cause
  return `${error.message} ${cause instanceof Error ? cause.message : String(cause)}`
}

/**
 * Opens the state in the client's database: reads its version, and sets up
 * the tables if there are none. A database of a later version, or a meta
 * table that names none, is refused without a write.
 */
export const open: Effect.Effect<Refusal | undefined, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const version = yield* readVersion(sql)
  if (version === undefined) {
    yield* sql.withTransaction(Effect.all([
      sql.unsafe(`CREATE TABLE IF NOT EXISTS ${metaTable} (name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(64) NOT NULL)`),
      ddl(sql),
      // a process that set the tables up a moment before wins, and the version is the same
      sql.unsafe(`INSERT INTO ${metaTable} (name, value) VALUES ('schema_version', '${schemaVersion}') ON CONFLICT (name) DO NOTHING`)
    ], { discard: true }))
    return undefined
  }
  if (!/^[1-9][0-9]*$/.test(version)) {
    return { _tag: "NotAState", reason: `its ${metaTable} table names no schema version` } as const
  }
  return Number(version) > schemaVersion ? { _tag: "NewerVersion", version } as const : undefined
})

/** Which of the items (`ids[i]` with `hashes[i]`, or one hash for all) are not confirmed with that hash since `since`. */
export const changed = (
  sql: SqlClient.SqlClient,
  key: Key,
  ids: ReadonlyArray<string>,
  hashes: ReadonlyArray<string> | string,
  since: number,
  path: Path = "auto"
): Effect.Effect<ReadonlyArray<number>, SqlError> => {
  const hashAt = typeof hashes === "string" ? () => hashes : (i: number) => hashes[i]!
  return onPath(sql, path, {
    // One statement a batch; SQLite answers with the positions of the changed items, one text
    // (a million unchanged items are a million rows nobody needs).
    sqlite: () =>
      batches(ids.length, sqliteBatch, (from, to) => {
        const pairs: Array<string> = []
        for (let i = from; i < to; i++) pairs.push(JSON.stringify([ids[i], hashAt(i)]))
        return Effect.map(
          sql.unsafe(
            `SELECT group_concat(i.key) AS changed FROM json_each(?) AS i WHERE NOT EXISTS (SELECT 1 FROM ${stateTable} AS s ` +
              `WHERE s.target = ? AND s.kind = ? AND s.id = json_extract(i.value, '$[0]') ` +
              `AND s.content_sha256 = json_extract(i.value, '$[1]') AND s.confirmed_at >= ?)`,
            [`[${pairs.join(",")}]`, key.target, key.kind, since]
          ).values,
          (rows) => {
            const text = rows[0]?.[0]
            // group_concat promises no order: the items go on in input order
            return typeof text === "string" && text.length > 0
              ? text.split(",").map((at) => from + Number(at)).sort((a, b) => a - b)
              : []
          }
        )
      }),
    orElse: () =>
      batches(ids.length, portableBatch, (from, to) => {
        const batch = ids.slice(from, to)
        return Effect.map(
          sql<{ id: string; content_sha256: string }>`SELECT id, content_sha256 FROM ${sql(stateTable)} WHERE target = ${key.target} AND kind = ${key.kind} AND confirmed_at >= ${since} AND ${
            sql.in("id", batch)
          }`,
          (rows) => {
            const confirmed = new Map(rows.map((row) => [row.id, row.content_sha256]))
            const out: Array<number> = []
            for (let i = from; i < to; i++) if (confirmed.get(ids[i]!) !== hashAt(i)) out.push(i)
            return out
          }
        )
      })
  })
}

const pageSize = 50_000

/**
 * The fingerprints of every item of `key` confirmed at or after `since`,
 * read a page at a time in id order (keyset pagination: each page starts
 * after the last id of the one before). SQLite sends a page as one text.
 */
export const fingerprints = (
  sql: SqlClient.SqlClient,
  key: Key,
  since: number,
  path: Path = "auto"
): Effect.Effect<FingerprintSet, SqlError> =>
  Effect.suspend(() => {
    const set = new FingerprintSet()
    const page = (after: string): Effect.Effect<{ readonly last: string; readonly count: number }, SqlError> =>
      onPath(sql, path, {
        sqlite: () =>
          Effect.map(
            sql.unsafe(
              `SELECT group_concat(substr(sent_sha256, 1, ${fingerprintDigits}), '') AS page, max(id) AS last, count(*) AS n ` +
                `FROM (SELECT id, sent_sha256 FROM ${stateTable} WHERE target = ? AND kind = ? AND id > ? AND confirmed_at >= ? ` +
                `ORDER BY id LIMIT ${pageSize})`,
              [key.target, key.kind, after, since]
            ).values,
            (rows) => {
              const [text, last, count] = rows[0] ?? []
              if (typeof text === "string") set.addPage(text)
              return { last: String(last ?? ""), count: Number(count ?? 0) }
            }
          ),
        orElse: () =>
          Effect.map(
            sql<{ id: string; sent_sha256: string }>`SELECT id, sent_sha256 FROM ${sql(stateTable)} WHERE target = ${key.target} AND kind = ${key.kind} AND id > ${after} AND confirmed_at >= ${since} ORDER BY id LIMIT ${pageSize}`,
            (rows) => {
              set.addPage(rows.map((row) => row.sent_sha256.slice(0, fingerprintDigits)).join(""))
              return { last: rows.at(-1)?.id ?? "", count: rows.length }
            }
          )
      })
    const from = (after: string): Effect.Effect<FingerprintSet, SqlError> =>
      Effect.flatMap(page(after), ({ count, last }) => (count < pageSize ? Effect.succeed(set) : from(last)))
    return from("")
  })

/** Records `ids[i]` as confirmed with its hashes at `at`, by the action `asyncActionId`: all or none. */
export const confirm = (
  sql: SqlClient.SqlClient,
  key: Key,
  asyncActionId: string,
  ids: ReadonlyArray<string>,
  hashes: ConfirmedHashes,
  at: number,
  path: Path = "auto"
): Effect.Effect<void, SqlError> => {
  if (ids.length === 0) return Effect.void
  const write = onPath(sql, path, {
    // the statements of sqliteWrites.ts, which the CLI's writer thread runs too
    sqlite: () =>
      Effect.forEach(confirmWrites(key, asyncActionId, ids, hashes, at), ({ insert, params, upsert }) =>
        sql.unsafe(insert, params).pipe(
          Effect.catchIf((error) => conflictPattern.test(messageOf(error)), () => sql.unsafe(upsert, params))
        ), { discard: true }),
    orElse: () =>
      batches(ids.length, portableBatch, (from, to) => {
        const rows: Array<Record<string, string | number>> = []
        for (let i = from; i < to; i++) {
          rows.push({
            target: key.target,
            kind: key.kind,
            id: ids[i]!,
            content_sha256: hexAt(hashes.hashes, i),
            sent_sha256: hexAt(hashes.sent, i),
            confirmed_at: at,
            async_action_id: asyncActionId
          })
        }
        return Effect.as(sql`INSERT INTO ${sql(stateTable)} ${sql.insert(rows)} ${sql.literal(upsertClause)}`, [])
      })
  })
  return Effect.asVoid(sql.withTransaction(write))
}

/** `auto`: SQLite's own statements on SQLite, the portable ones elsewhere; `portable`: those everywhere (tests of them on SQLite). */
export type Path = "auto" | "portable"

const onPath = <A, B>(
  sql: SqlClient.SqlClient,
  path: Path,
  options: { readonly sqlite: () => A; readonly orElse: () => B }
): A | B => path === "portable" ? options.orElse() : sql.onDialectOrElse(options)

/** Runs `run` over `[from, to)` batches of `size` in order and concatenates what they give. */
const batches = <E>(
  length: number,
  size: number,
  run: (from: number, to: number) => Effect.Effect<ReadonlyArray<number>, E>
): Effect.Effect<ReadonlyArray<number>, E> =>
  Effect.suspend(() => {
    const out: Array<number> = []
    const step = (from: number): Effect.Effect<ReadonlyArray<number>, E> =>
      from >= length ? Effect.succeed(out) : Effect.flatMap(run(from, Math.min(length, from + size)), (found) => {
        for (const at of found) out.push(at)
        return step(from + size)
      })
    return step(0)
  })
