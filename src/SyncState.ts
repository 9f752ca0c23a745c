/**
 * A sync state: what Voucherify confirmed of each item, so that a run sends
 * only what changed since. Per target, per kind of endpoint and per id, it
 * keeps the SHA-256 of the item's content in a canonical form (key order
 * does not count) and when Voucherify confirmed it: the action `DONE`, and
 * its report file saying the record was updated. Hand the service to
 * `BulkRecords.run` or `BulkMetadata.run` as `state`.
 *
 * It lives in SQLite or PostgreSQL through `@effect/sql`: an SQLite file
 * through `@effect/sql-libsql` (what the CLI's `--state <path>` opens), or an
 * application's PostgreSQL through `@effect/sql-pg`, where several machines
 * can share it (its statements use `ON CONFLICT`, which MySQL and SQL Server
 * do not have). It holds ids, hashes, times and action ids: never a
 * credential, never a value.
 *
 * @example
 * ```ts
 * import { LibsqlClient } from "@effect/sql-libsql"
 * import { Effect, Layer } from "effect"
 * import { BulkRecords, SyncState } from "effect-voucherify"
 * import { VoucherifyTest } from "effect-voucherify/testing"
 *
 * const program = Effect.gen(function*() {
 *   const state = yield* SyncState.SyncState
 *   return yield* BulkRecords.run(
 *     [{ source_id: "sku-1", name: "Tea", price: 450 }],
 *     { target: "products", state, stateMaxAge: "7 days" }
 *   )
 * })
 *
 * const StateLive = SyncState.layer.pipe(Layer.provide(LibsqlClient.layer({ url: "file:sync-state.db" })))
 * Effect.runPromise(program.pipe(Effect.provide([StateLive, VoucherifyTest.layer()]))).then(console.log)
 * ```
 *
 * @since 0.5.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { hashesMisfit } from "./internal/state/sqliteWrites.js"
import * as sqlState from "./internal/state/sqlState.js"

/**
 * An item of the state is an id of one target updated through one kind of
 * endpoint: `metadata` (the metadata endpoints: the hash is the metadata's)
 * or `records` (the per-record ones: the hash is the record's).
 *
 * @since 0.5.0
 * @category models
 */
export type Key = sqlState.Key

/**
 * The state could not be opened or used: `NewerVersion` (written by a later
 * version of this package: refused, left as it is), `NotAState` (the
 * database holds tables of that name that are not a sync state), or
 * `Database` (the database refused a statement; `message` says why).
 *
 * @since 0.5.0
 * @category errors
 */
export class SyncStateError extends Schema.TaggedError<SyncStateError>()("SyncStateError", {
  reason: Schema.Literal("NewerVersion", "NotAState", "Database", "InvalidHashes"),
  message: Schema.String
}) {}

/**
 * The operations a run needs. Items come as `ids` with `hashes` (one per id,
 * or one for all: a metadata run's).
 *
 * @since 0.5.0
 * @category models
 */
export interface Service {
  /**
   * The positions in `ids` of the items not confirmed with their hash at or
   * after `since` (epoch milliseconds): what a run sends.
   */
  readonly changed: (
    key: Key,
    ids: ReadonlyArray<string>,
    hashes: ReadonlyArray<string> | string,
    since: number
  ) => Effect.Effect<ReadonlyArray<number>, SyncStateError>
  /**
   * The fingerprints (the first 64 bits of the hash of the text as sent) of
   * every item confirmed at or after `since`, read once: a per-record run
   * looks its records up in memory (a record's text holds its id), and
   * parses only those whose text it does not find.
   */
  readonly fingerprints: (
    key: Key,
    since: number
  ) => Effect.Effect<{ readonly size: number; readonly hasHash: (hash: string) => boolean }, SyncStateError>
  /**
   * Records the items as confirmed at `at` by the action `asyncActionId`, in
   * one transaction (all or none), with each one's content hash and the hash
   * of its text as sent (one of each for all: a metadata run's). Each
   * SHA-256 comes in lower-case hex, or as a column of the items' 32-byte
   * digests one after another (what a per-record run hands over: no hex to
   * make, nor to read back).
   */
  readonly confirm: (
    key: Key,
    asyncActionId: string,
    ids: ReadonlyArray<string>,
    hashes: {
      readonly hashes: ReadonlyArray<string> | string | Uint8Array
      readonly sent: ReadonlyArray<string> | string | Uint8Array
    },
    at: number
  ) => Effect.Effect<void, SyncStateError>
}

/**
 * @since 0.5.0
 * @category tags
 */
export class SyncState extends Context.Tag("effect-voucherify/SyncState")<SyncState, Service>() {}

const failed = (error: SqlError): SyncStateError => {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return new SyncStateError({ reason: "Database", message: `${error.message}${cause}` })
}

/**
 * Fails with `InvalidHashes` when the hashes do not fit the ids (one for
 * all, or one a item): checked before anything is read or written.
 */
const fitting = (
  operation: string,
  ids: ReadonlyArray<string>,
  columns: ReadonlyArray<sqlState.Hashes>
): Effect.Effect<void, SyncStateError> => {
  for (const hashes of columns) {
    const misfit = hashesMisfit(ids.length, hashes)
    if (misfit !== undefined) return new SyncStateError({ reason: "InvalidHashes", message: `${operation}: ${misfit}` })
  }
  return Effect.void
}

/**
 * The state in the client's database: its two tables
 * (`voucherify_sync_state`, `voucherify_sync_meta`) are created if the
 * database has none; a database of a later schema version is refused
 * before anything is written.
 *
 * @since 0.5.0
 * @category constructors
 */
export const make: Effect.Effect<Service, SyncStateError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const refusal = yield* Effect.mapError(sqlState.open, failed)
  if (refusal !== undefined) {
    return yield* new SyncStateError(
      refusal._tag === "NewerVersion"
        ? {
          reason: "NewerVersion",
          message: `the sync state has schema version ${refusal.version}, newer than this version of effect-voucherify reads (${sqlState.schemaVersion})`
        }
        : { reason: "NotAState", message: `not a sync state: ${refusal.reason}` }
    )
  }
  const service: Service = {
    // the statements are built only once the hashes are known to fit (building them reads every hash)
    changed: (key, ids, hashes, since) =>
      Effect.zipRight(
        fitting("changed", ids, [hashes]),
        Effect.suspend(() => Effect.mapError(sqlState.changed(sql, key, ids, hashes, since), failed))
      ),
    fingerprints: (key, since) => Effect.mapError(sqlState.fingerprints(sql, key, since), failed),
    confirm: (key, asyncActionId, ids, hashes, at) =>
      Effect.zipRight(
        fitting("confirm", ids, [hashes.hashes, hashes.sent]),
        Effect.suspend(() => Effect.mapError(sqlState.confirm(sql, key, asyncActionId, ids, hashes, at), failed))
      )
  }
  return service
}).pipe(Effect.withSpan("SyncState.make"))

/**
 * {@link make} as a layer over the application's `SqlClient`.
 *
 * @since 0.5.0
 * @category layers
 */
export const layer: Layer.Layer<SyncState, SyncStateError, SqlClient.SqlClient> = Layer.effect(SyncState, make)
