/**
 * The main thread's side of the sync state's hashing worker
 * (`hashWorker.ts`): batches of record texts go to the thread, and their
 * ids and hashes come back, in order. A first fill hashes every record it
 * sends; on the main thread that work held up the reading, packing and
 * sending of the next bodies.
 *
 * @internal
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import type { HashedBatch } from "./recordHashes.js"

export interface HashWorker {
  /** Hashes a batch of record texts; batches are answered in the order they were given. */
  readonly hash: (texts: ReadonlyArray<string>) => Promise<HashedBatch>
  readonly close: () => Promise<void>
}

/**
 * The worker, from its built script: beside this module (the library's
 * build), or beside the CLI's entry when this module is in one of the
 * bundle's chunks. From the TypeScript sources there is none, and the state
 * hashes on the main thread (the tests start the source through tsx).
 */
const spawn = (): Worker | undefined => {
  // an application's bundle may have moved this module away from the script, or off the file system
  if (!import.meta.url.startsWith("file:")) return undefined
  for (const name of ["./hashWorker.js", "../hashWorker.js"]) {
    const url = new URL(name, import.meta.url)
    if (existsSync(fileURLToPath(url))) return new Worker(url)
  }
  return undefined
}

/** Starts a hashing worker for records whose id is `idField`; `undefined` where there is no script to run. */
export const startHashWorker = (idField: string, worker: Worker | undefined = spawn()): HashWorker | undefined => {
  if (worker === undefined) return undefined
  // the run closes it; a run that is abandoned does not keep the process alive for it
  worker.unref()
  const waiting: Array<{ readonly resolve: (batch: HashedBatch) => void; readonly reject: (error: unknown) => void }> = []
  // once the thread has failed or ended, no answer comes: every batch after it is refused at once
  let gone: unknown = undefined
  const failAll = (error: unknown) => {
    gone ??= error
    for (const batch of waiting.splice(0)) batch.reject(error)
  }
  worker.on("message", (batch: HashedBatch) => waiting.shift()?.resolve(batch))
  worker.on("error", failAll)
  worker.on("exit", (code) => failAll(new Error(`the hashing worker exited with code ${code}`)))
  return {
    hash: (texts) =>
      new Promise<HashedBatch>((resolve, reject) => {
        if (gone !== undefined) return reject(gone)
        waiting.push({ resolve, reject })
        worker.postMessage({ texts, idField })
      }),
    close: () => worker.terminate().then(() => undefined)
  }
}
