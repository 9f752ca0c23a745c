/**
 * `--state <path>`: the sync state in an SQLite file, opened before anything
 * is sent. The file is locked for the run (`<path>.lock`: a second run on
 * the same state is refused, exit 1), and refused, untouched, when it is not
 * a sync state: not SQLite, another application's database, or a state of a
 * later version. The driver (`libsql`, a prebuilt binary npm installs with
 * the package) is loaded only here, so that no other start of the `bin`
 * pays for it.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { dirname } from "node:path"
import type * as SyncState from "../SyncState.js"
import * as Lock from "../internal/journal/lock.js"
import { InputError } from "./CliError.js"
import { fileProblem } from "./ErrorOutput.js"

/** The first bytes of every SQLite database file. */
const sqliteHeader = Buffer.from("SQLite format 3\0", "latin1")

/**
 * The state at `path`, for the run's scope. A missing or empty file becomes
 * a new state; with `readOnly` (`--dry-run`), a missing one is no state at
 * all (every item would be sent) and nothing is created.
 */
export const open = (
  path: string,
  options: { readonly readOnly: boolean }
): Effect.Effect<SyncState.Service | undefined, InputError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const cannot = (error: Parameters<typeof fileProblem>[0]) =>
      new InputError({ message: `cannot open the state ${path}: ${fileProblem(error)}` })
    const exists = yield* Effect.mapError(fs.exists(path), cannot)
    if (!exists && !(yield* Effect.mapError(fs.exists(dirname(path)), cannot))) {
      return yield* new InputError({ message: `cannot create the state ${path}: its folder does not exist (nothing was sent)` })
    }
    if (!exists && options.readOnly) return undefined
    if (!options.readOnly) {
      yield* Lock.lock(`${path}.lock`).pipe(
        Effect.mapError((error) =>
          error._tag === "LockHeld"
            ? new InputError({
              message: `the state ${path} is in use by another run${error.pid === undefined ? "" : ` (process ${error.pid})`}: nothing was sent`,
              hint: `wait for that run to end; ${error.lockPath} names it`
            })
            : new InputError({ message: `cannot lock the state ${path}: ${fileProblem(error.error)}` })
        )
      )
    }
    if (exists) {
      const size = (yield* Effect.mapError(fs.stat(path), cannot)).size
      if (size > 0n) {
        const head = yield* Effect.scoped(Effect.flatMap(fs.open(path, { flag: "r" }), (file) => {
          const bytes = Buffer.alloc(sqliteHeader.length)
          return Effect.as(file.read(bytes), bytes)
        })).pipe(Effect.mapError(cannot))
        if (!head.equals(sqliteHeader)) {
          return yield* new InputError({
            message: `${path} is not a sync state (not an SQLite database): nothing was sent, and the file was left as it is`,
            hint: "give --state a new path, or the state file of an earlier run"
          })
        }
      }
    }
    const { openState } = yield* Effect.promise(() => import("./StateDatabase.js"))
    return yield* openState(path, exists).pipe(
      Effect.mapError((error) =>
        new InputError({
          message: `${path} ${
            error.reason === "Database" ? `cannot be used as a sync state: ${error.message}` : `is refused: ${error.message}`
          }; nothing was sent, and the file was left as it is`
        })
      )
    )
  })
