/**
 * The SQLite side of `--state`, in a chunk of its own: `@effect/sql-libsql`
 * and the `libsql` driver load only when a run has a state.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { LibsqlClient } from "@effect/sql-libsql"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { pathToFileURL } from "node:url"
import * as SyncState from "../SyncState.js"
import { confirmWrites } from "../internal/state/sqliteWrites.js"
import { startStateWriter } from "./StateWriter.js"

/** The rows from which a confirmation goes to the writer thread: fewer take less than its start. */
const writerRows = 20_000

/**
 * The state in the SQLite file `path`, open for the scope. A file that
 * existed must hold the state's tables already: an SQLite database of
 * another application is not adopted (nor written to).
 */
export const openState = (
  path: string,
  existed: boolean
): Effect.Effect<SyncState.Service, SyncState.SyncStateError, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(LibsqlClient.layer({ url: pathToFileURL(path).href }))
    const sql = Context.get(context, SqlClient.SqlClient)
    if (existed) {
      const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`.pipe(
        Effect.mapError((error) =>
          new SyncState.SyncStateError({
            reason: "Database",
            message: error.cause instanceof Error ? error.cause.message : error.message
          })
        )
      )
      const names = new Set(tables.map((table) => table.name))
      if (names.size > 0 && !names.has("voucherify_sync_meta")) {
        return yield* new SyncState.SyncStateError({
          reason: "NotAState",
          message: `an SQLite database without the sync state's tables (it holds ${[...names].slice(0, 3).join(", ")}${
            names.size > 3 ? ", …" : ""
          })`
        })
      }
    }
    const service = yield* Effect.provide(SyncState.make, context)
    // the writer thread's commits and this connection's reads may meet: a reader waits, not fails
    yield* Effect.ignore(sql.unsafe("PRAGMA busy_timeout = 60000"))
    // Large confirmations are written by a thread of their own (a first fill's million rows are two
    // seconds of SQLite), through the same statements; reads and small writes stay on this connection.
    // The thread starts at the first large one: a run that changed little starts none.
    const scope = yield* Effect.scope
    const writer = yield* Effect.cached(Scope.extend(startStateWriter(path), scope))
    return {
      ...service,
      confirm: (key, asyncActionId, ids, hashes, at) =>
        ids.length < writerRows ? service.confirm(key, asyncActionId, ids, hashes, at) : Effect.flatMap(writer, (thread) =>
          thread === undefined
            ? service.confirm(key, asyncActionId, ids, hashes, at)
            : thread.write(confirmWrites(key, asyncActionId, ids, hashes, at)).pipe(
              Effect.mapError((message) => new SyncState.SyncStateError({ reason: "Database", message })),
              Effect.withSpan("SyncState.confirm", { attributes: { ids: ids.length } })
            ))
    } satisfies SyncState.Service
  })
