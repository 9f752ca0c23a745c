/**
 * The id and the two hashes a sync state keeps of each record: the hash of
 * its canonical JSON (read from its text where `canonicalText.ts` can, parsed
 * where it leaves the form to `JSON.parse`) and the hash of its text as
 * sent. Plain code, no Effect: the state's stage runs it on the main thread
 * or in its hashing worker (`hashWorker.ts`), a batch at a time.
 *
 * @internal
 */
import { canonicalRecordText } from "./canonicalText.js"
import { contentHash, textHash } from "./contentHash.js"

/** The id and the content hash of a record's JSON text, given the hash of that text. */
export const readRecord = (item: string, itemHash: string, idField: string): { readonly id: string; readonly hash: string } => {
  const canonical = canonicalRecordText(item, idField)
  if (canonical !== undefined && canonical.id !== undefined) {
    // a record written in its canonical form already has the hash of its text
    return { id: canonical.id, hash: canonical.text === item ? itemHash : textHash(canonical.text) }
  }
  const record = JSON.parse(item) as Record<string, unknown>
  return { id: record[idField] as string, hash: contentHash(record) }
}

/** A batch of records hashed: their ids, and each hash column as one text of 64 hex digits a record. */
export interface HashedBatch {
  readonly ids: Array<string>
  readonly hashes: string
  readonly sent: string
}

/** Hashes a batch of record texts (what the hashing worker runs on each message). */
export const hashRecords = (texts: ReadonlyArray<string>, idField: string): HashedBatch => {
  const ids: Array<string> = new Array(texts.length)
  const hashes: Array<string> = new Array(texts.length)
  const sent: Array<string> = new Array(texts.length)
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!
    const itemHash = textHash(text)
    const { hash, id } = readRecord(text, itemHash, idField)
    ids[i] = id
    hashes[i] = hash
    sent[i] = itemHash
  }
  return { ids, hashes: hashes.join(""), sent: sent.join("") }
}
