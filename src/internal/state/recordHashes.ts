/**
 * The id and the two hashes a sync state keeps of each record: the hash of
 * its canonical JSON (read from its text where `canonicalText.ts` can, parsed
 * where it leaves the form to `JSON.parse`) and the hash of its text as
 * sent. Plain code, no Effect: the state's stage runs it on the main thread
 * or in its hashing worker (`hashWorker.ts`), a batch at a time.
 *
 * @internal
 */
import { CanonicalBytes } from "./canonicalBytes.js"
import { canonicalRecordText } from "./canonicalText.js"
import { bytesDigest, contentHash, digestBytes, textHash } from "./contentHash.js"

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

/** A batch of records hashed: their ids, and each hash column as the records' 32-byte SHA-256 digests, one after another. */
export interface HashedBatch {
  readonly ids: Array<string>
  readonly hashes: Uint8Array
  readonly sent: Uint8Array
}


/** Writes a digest's 32 one-byte characters at `at`: a plain loop, cheaper than a call into Buffer's encoder for so few. */
const putDigest = (column: Uint8Array, at: number, digest: string): void => {
  for (let b = 0; b < digestBytes; b++) column[at + b] = digest.charCodeAt(b)
}

/** The reader of the last batch, kept for the next: its buffers have grown to the records' size. */
let reader: CanonicalBytes | undefined
let readerField = ""

/**
 * Hashes a batch of record texts (what the hashing worker runs on each
 * message). Each record is read from its UTF-8 bytes and both hashes are
 * taken over bytes ({@link CanonicalBytes}); a form that reader leaves goes
 * the way of {@link readRecord}. Both ways give the same hashes.
 */
export const hashRecords = (texts: ReadonlyArray<string>, idField: string): HashedBatch => {
  if (reader === undefined || readerField !== idField) {
    reader = new CanonicalBytes(idField)
    readerField = idField
  }
  const bytes = reader
  const ids: Array<string> = new Array(texts.length)
  // each digest written as its 32 bytes (a one-byte string each: no hex to make), in memory of the
  // batch's own that the worker hands over to the main thread without a copy
  const hashes = Buffer.from(new ArrayBuffer(texts.length * digestBytes))
  const sent = Buffer.from(new ArrayBuffer(texts.length * digestBytes))
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!
    const at = i * digestBytes
    if (bytes.read(text) && bytes.id !== undefined) {
      const textDigest = bytesDigest(bytes.src.subarray(0, bytes.length))
      putDigest(sent, at, textDigest)
      putDigest(hashes, at, bytes.asIs ? textDigest : bytesDigest(bytes.out.subarray(bytes.start, bytes.end)))
      ids[i] = bytes.id
      continue
    }
    const itemHash = textHash(text)
    const { hash, id } = readRecord(text, itemHash, idField)
    ids[i] = id
    sent.write(itemHash, at, "hex")
    hashes.write(hash, at, "hex")
  }
  return { ids, hashes, sent }
}
