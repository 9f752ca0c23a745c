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
import { startStateWriter, writingThrough } from "./StateWriter.js"

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
    // the thread starts at the first large confirmation: a run that changed little starts none
    const scope = yield* Effect.scope
    return yield* writingThrough(service, yield* Effect.cached(Scope.extend(startStateWriter(path), scope)))
  })
