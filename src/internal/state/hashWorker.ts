/**
 * The sync state's hashing worker: a thread that hashes the batches of
 * records a first fill sends (`hashRecords`), so that the two SHA-256 and
 * the canonical form of every record are not on the main thread, which is
 * reading, packing and sending. One message a batch, answered in order.
 *
 * @internal
 */
import { parentPort } from "node:worker_threads"
import { hashRecords } from "./recordHashes.js"

parentPort?.on("message", (message: { readonly texts: ReadonlyArray<string>; readonly idField: string }) => {
  const batch = hashRecords(message.texts, message.idField)
  // the digests' memory moves to the main thread: no copy
  parentPort!.postMessage(batch, [batch.hashes.buffer as ArrayBuffer, batch.sent.buffer as ArrayBuffer])
})
