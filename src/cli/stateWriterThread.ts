/**
 * The CLI's state writer: a thread with a connection of its own to the
 * state's SQLite file, that records the confirmations of a run
 * (`StateDatabase.ts` hands them over). A first fill writes a million rows,
 * two seconds of SQLite that held up the reading, packing and sending of
 * the next bodies on the main thread. Each message is one transaction, the
 * statements of `sqliteWrites.ts`, answered in order.
 *
 * @internal
 */
import Database from "libsql"
import { parentPort, workerData } from "node:worker_threads"
import { conflictPattern, type SqliteWrite } from "../internal/state/sqliteWrites.js"

/** What the main thread sends: a confirmation's statements, and what it answers: nothing, or why they failed. */
export interface WriteRequest {
  readonly writes: ReadonlyArray<SqliteWrite>
}
export interface WriteAnswer {
  readonly error?: string
}

const db = new Database((workerData as { readonly path: string }).path)
// the main thread's connection may be reading the state while this one commits: it waits, not fails
db.exec("PRAGMA busy_timeout = 60000")
const statements = new Map<string, { readonly run: (...params: Array<unknown>) => unknown }>()
const statement = (text: string) => {
  let prepared = statements.get(text)
  if (prepared === undefined) statements.set(text, prepared = db.prepare<Array<unknown>>(text))
  return prepared
}
// a blob comes over as a Uint8Array: the driver binds a Buffer
const bound = (params: SqliteWrite["params"]) =>
  params.map((param) => (param instanceof Uint8Array ? Buffer.from(param.buffer, param.byteOffset, param.byteLength) : param))

const write = (writes: ReadonlyArray<SqliteWrite>): void => {
  db.exec("BEGIN IMMEDIATE")
  try {
    for (const { insert, params, upsert } of writes) {
      const values = bound(params)
      try {
        statement(insert).run(...values)
      } catch (error) {
        // SQLite undid the statement, and the transaction goes on
        if (!conflictPattern.test(error instanceof Error ? error.message : String(error))) throw error
        statement(upsert).run(...values)
      }
    }
    db.exec("COMMIT")
  } catch (error) {
    db.exec("ROLLBACK")
    throw error
  }
}

parentPort?.on("message", ({ writes }: WriteRequest) => {
  let answer: WriteAnswer = {}
  try {
    write(writes)
  } catch (error) {
    answer = { error: error instanceof Error ? error.message : String(error) }
  }
  parentPort!.postMessage(answer)
})
