/**
 * The main thread's side of the state writer (`stateWriterThread.ts`): the
 * statements of each confirmation go to the thread, and the run's fiber
 * waits for its answer while the main thread reads, packs and sends.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as SyncState from "../SyncState.js"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { confirmWrites, hashesMisfit, type SqliteWrite } from "../internal/state/sqliteWrites.js"
import type { WriteAnswer, WriteRequest } from "./stateWriterThread.js"

export interface StateWriter {
  /** Runs the statements in one transaction, in the thread; fails with why the thread could not. */
  readonly write: (writes: ReadonlyArray<SqliteWrite>) => Effect.Effect<void, string>
}

/**
 * The thread, from the bundle's script beside `main.js` (this module is in
 * one of its chunks); from the TypeScript sources there is none, and the
 * state writes through the main thread's connection.
 */
const spawn = (path: string): Worker | undefined => {
  if (!import.meta.url.startsWith("file:")) return undefined
  for (const name of ["./stateWriter.js", "../stateWriter.js"]) {
    const url = new URL(name, import.meta.url)
    if (existsSync(fileURLToPath(url))) return new Worker(url, { workerData: { path } })
  }
  return undefined
}

/** A writer to the SQLite file `path` for the scope; `undefined` where there is no script to run. */
export const startStateWriter = (
  path: string,
  thread: (path: string) => Worker | undefined = spawn
): Effect.Effect<StateWriter | undefined, never, Scope.Scope> =>
  Effect.gen(function*() {
    // a thread that cannot even be made (the process's limits): the main connection writes
    const worker = yield* Effect.orElseSucceed(Effect.try(() => thread(path)), () => undefined)
    if (worker === undefined) return undefined
    // the run closes it; an abandoned run does not stay alive for it
    worker.unref()
    yield* Effect.addFinalizer(() => Effect.promise(() => worker.terminate()))
    const waiting: Array<(error: string | undefined) => void> = []
    // once the thread has failed or ended, no answer comes: every write after it is refused at once
    let gone: string | undefined = undefined
    const failAll = (why: string) => {
      gone ??= why
      for (const done of waiting.splice(0)) done(gone)
    }
    worker.on("message", (answer: WriteAnswer) => waiting.shift()?.(answer.error))
    worker.on("error", (error) => failAll(`the state's writer failed: ${error.message}`))
    worker.on("exit", (code) => failAll(`the state's writer exited with code ${code}`))
    return {
      write: (writes) =>
        Effect.async<void, string>((resume) => {
          if (gone !== undefined) return resume(Effect.fail(gone))
          waiting.push((error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
          worker.postMessage({ writes } satisfies WriteRequest)
        })
    }
  })

/** The rows from which a confirmation goes to the writer thread: fewer take less than its start. */
export const writerRows = 20_000

/**
 * The state with its confirmations of {@link writerRows} rows or more
 * written by the thread of `writer` (started on first use; `undefined`: no
 * thread, all on the main connection), through the statements the main
 * connection runs. Its operations take turns: SQLite refuses at once (no
 * busy timeout on the driver's connections) a read or a write that meets
 * another connection's commit, so the main connection never works while the
 * thread writes. A first fill looks nothing up meanwhile: its reading,
 * packing and sending go on.
 */
export const writingThrough = (
  service: SyncState.Service,
  writer: Effect.Effect<StateWriter | undefined>
): Effect.Effect<SyncState.Service> =>
  Effect.map(Effect.makeSemaphore(1), (turns) => {
    const inTurn = turns.withPermits(1)
    return {
      changed: (key, ids, hashes, since) => inTurn(service.changed(key, ids, hashes, since)),
      fingerprints: (key, since) => inTurn(service.fingerprints(key, since)),
      confirm: (key, asyncActionId, ids, hashes, at) => {
        if (ids.length < writerRows) return inTurn(service.confirm(key, asyncActionId, ids, hashes, at))
        // the service checks what it writes itself; the thread's statements are checked here, by the same rule
        const misfit = hashesMisfit(ids.length, hashes.hashes) ?? hashesMisfit(ids.length, hashes.sent)
        if (misfit !== undefined) {
          return new SyncState.SyncStateError({ reason: "InvalidHashes", message: `confirm: ${misfit}` })
        }
        return inTurn(Effect.flatMap(writer, (thread) =>
          thread === undefined
            ? service.confirm(key, asyncActionId, ids, hashes, at)
            : thread.write(confirmWrites(key, asyncActionId, ids, hashes, at)).pipe(
              Effect.mapError((message) => new SyncState.SyncStateError({ reason: "Database", message })),
              Effect.withSpan("SyncState.confirm", { attributes: { ids: ids.length } })
            )))
      }
    }
  })
