/**
 * Reads ids from a file or stdin as a `Stream`, pulled as the bulk engine
 * needs them: the file is never held in memory as a whole.
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { resolve as resolvePath } from "node:path"
import type * as BulkJournal from "../BulkJournal.js"
import * as BulkMetadata from "../BulkMetadata.js"
import * as BulkRecords from "../BulkRecords.js"
import { decode } from "../internal/text/decode.js"
import type { LineLimit } from "../internal/text/lines.js"
import { InputChangedError, InputError } from "./CliError.js"
import * as CsvIds from "./CsvIds.js"
import { fileProblem } from "./ErrorOutput.js"
import { type IdFormat, ndjsonIds } from "./IdFormat.js"

export type { IdFormat } from "./IdFormat.js"

// large reads: fewer steps per byte than 64 KiB, for little memory
const readChunk = 1024 * 1024

/**
 * The longest NDJSON line or CSV record read, in bytes: a whole request body
 * (`limit`, the configured one). Its id must fit in a body beside the
 * metadata; a record longer than a body is no id file, and is refused as
 * soon as it gets there, not held whole. (One id per line needs no such
 * cap: packed from its bytes, a line is refused once it runs past what the
 * body limit leaves for an id.)
 */
export const recordLimit = (limit: number): LineLimit => ({
  limit,
  why: `longer than a whole request body (${limit} bytes), so no record of an id`
})

/** The ids of a format with records (CSV, NDJSON), as strings; a record past `maxRecord` fails the stream there. */
const parseRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  format: Exclude<IdFormat, { readonly _tag: "Lines" }>,
  source: string,
  maxRecord?: LineLimit
): Stream.Stream<string, E | BulkMetadata.IdLineError | InputError, R> =>
  format._tag === "Csv"
    ? CsvIds.parse(bytes, format.column, source, maxRecord, format.delimiter)
    : decode(bytes, ndjsonIds(format, maxRecord))

/**
 * Parses ids out of raw bytes. One id per line is `BulkMetadata.lines`,
 * which the bulk functions pack straight from the bytes; CSV is read by
 * csv-parse (its errors already name `source`). An NDJSON line or a CSV
 * record past `maxRecord` fails the stream there.
 */
export const parseIds = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  format: IdFormat,
  source: string,
  maxRecord?: LineLimit
): Ids<E | BulkMetadata.IdLineError | InputError, R> =>
  format._tag === "Lines" ? BulkMetadata.lines(bytes) : parseRecords(bytes, format, source, maxRecord)

/** Ids as the bulk functions take them: one-id-per-line bytes, or a stream of ids parsed from another format. */
export type Ids<E, R = never> = Stream.Stream<string, E, R> | BulkMetadata.Lines<E, R>

/** An opened input: its ids, and how much of it was read. */
export interface IdSource extends Omit<ByteSource, "bytes"> {
  /**
   * The ids. Hand them to the `BulkMetadata` functions as they are (an
   * operator in between would make strings of every id of a plain file),
   * and their failures to {@link describe}.
   */
  readonly ids: Ids<InputError | InputChangedError | BulkMetadata.IdLineError>
}

/** A failure of the input `source` as the terminal shows it: a bad line (of ids or records) names the input. */
export const describe = (source: IdSource | ByteSource) =>
<E>(error: E | BulkMetadata.IdLineError | BulkRecords.RecordError): E | InputError =>
  error instanceof BulkMetadata.IdLineError || error instanceof BulkRecords.RecordError
    ? new InputError({ message: `${source.name}, ${error.message}` })
    : error

/** "`source` has no ids": a run on such an input would do nothing, which is surely not what was meant. */
export const noIds = (source: IdSource | ByteSource, what: "ids" | "records" = "ids"): InputError =>
  new InputError({ message: `${source.name} has no ${what}` })

/**
 * The bytes of a file, read `readChunk` at a time into three buffers used in
 * turn rather than a new one each read, which would leave the collector
 * hundreds of megabytes of a large file to free. Each read starts as the
 * piece before it is handed on, so that the disk (or the page cache) works
 * while the packer copies: the packer never waits for a read it could have
 * had. A piece stays valid until the next one is pulled: the packer and the
 * parsers, its only readers, are done with it by then. At the end of the
 * file, `atEnd` (given the bytes read) runs before the stream ends, and may
 * fail it instead.
 */
const readPieces = <E>(
  file: FileSystem.File,
  atEnd: (read: number) => Effect.Effect<void, E>
): Stream.Stream<Uint8Array, PlatformError.PlatformError | E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    // Buffers, like the packer's own: one kind of array in its loop. Three:
    // the piece being read, the one ahead, and the one the packer still holds.
    const buffers = [Buffer.allocUnsafe(readChunk), Buffer.allocUnsafe(readChunk), Buffer.allocUnsafe(readChunk)]
    let turn = 0
    let total = 0
    const scope = yield* Effect.scope
    const readAhead = () => {
      const buffer = buffers[turn = (turn + 1) % buffers.length]!
      return Effect.forkIn(Effect.map(file.read(buffer), (read) => buffer.subarray(0, Number(read))), scope)
    }
    let ahead = yield* readAhead()
    return Stream.repeatEffectOption<Uint8Array, PlatformError.PlatformError | E, never>(Effect.gen(function*() {
      const piece = yield* Effect.mapError(Fiber.join(ahead), Option.some)
      if (piece.length === 0) return yield* Effect.zipRight(Effect.mapError(atEnd(total), Option.some), Effect.fail(Option.none()))
      total += piece.length
      ahead = yield* readAhead()
      return piece
    }))
  }))

const mtimeOf = (info: FileSystem.File.Info) => Option.match(info.mtime, { onNone: () => 0, onSome: (date) => date.getTime() })

/**
 * At the end of a file: the same file as when it was opened (its size and
 * modification time, as the journal records them) and every byte of it read.
 * A file still being written fails here, before the end of the input lets the
 * packer close the body that holds its last line, which may be a cut-off id:
 * that body is never sent. (Standard input is a stream, taken as it comes.)
 */
const unchanged = (
  file: FileSystem.File,
  path: string,
  opened: { readonly size: number; readonly mtimeMs: number }
) =>
(read: number): Effect.Effect<void, InputChangedError | PlatformError.PlatformError> =>
  Effect.flatMap(file.stat, (info) => {
    const size = Number(info.size)
    const changes = [
      ...(size !== opened.size ? [`${opened.size} bytes when opened, ${size} now`] : []),
      ...(mtimeOf(info) !== opened.mtimeMs ? ["modified since it was opened"] : []),
      ...(read !== opened.size ? [`${read} bytes read of ${opened.size}`] : [])
    ]
    return changes.length === 0 ? Effect.void : Effect.fail(
      new InputChangedError({
        path,
        message: `${path} changed while it was read (${
          changes.join("; ")
        }): its last chunk was not sent, so no cut-off id was; run again once the file is complete`
      })
    )
  })

/** An opened input as bytes, before any format reads it. */
export interface ByteSource {
  /** The bytes, read as they are pulled: the file is never held whole. */
  readonly bytes: Stream.Stream<Uint8Array, InputError | InputChangedError>
  /** Share of the file's bytes read so far, 0 to 1; unknown for stdin. */
  readonly fraction: () => number | undefined
  /** The path, or `stdin`: names the input in messages. */
  readonly name: string
  /** What the input is, as a journal records it: a file by its absolute path, size and modification time. */
  readonly description: BulkJournal.InputDescription
}

/**
 * The bytes of `path` (`-` for stdin), for any input format; `what` names
 * the input in a read error ("the ids file"). A missing file, or one that
 * is not a file, fails here, before anything starts.
 */
export const openBytes = (path: string, what: string): Effect.Effect<ByteSource, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (path === "-") {
      return { bytes: NodeStream.stdin.pipe(Stream.mapError(cannotRead(what, "stdin"))), fraction: () => undefined, name: "stdin", description: { kind: "stdin" } }
    }
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.mapError(fs.stat(path), cannotRead(what, path))
    if (info.type !== "File") return yield* new InputError({ message: `cannot read ${what} ${path}: it is not a file` })
    const size = Number(info.size)
    let read = 0
    const opened = { size, mtimeMs: mtimeOf(info) }
    const bytes = Stream.unwrapScoped(
      Effect.map(fs.open(path), (file) => readPieces(file, unchanged(file, path, opened)))
    ).pipe(
      Stream.tap((piece) => Effect.sync(() => (read += piece.length))),
      Stream.mapError((error) => (error instanceof InputChangedError ? error : cannotRead(what, path)(error)))
    )
    return {
      bytes,
      fraction: () => (size === 0 ? 1 : read / size),
      name: path,
      description: {
        kind: "file",
        path: resolvePath(path),
        size,
        mtimeMs: opened.mtimeMs
      }
    }
  })

/**
 * Refuses a file without a single item before the run starts (a mock server
 * included): its first item is read apart with `parse`. A failure of that
 * read is left to the run, whose report names it; stdin, which cannot be
 * read twice, is left to the run too.
 */
export const requireItem = <A, E>(
  source: ByteSource,
  parse: (bytes: Stream.Stream<Uint8Array, InputError>) => Stream.Stream<A, E>,
  what: "ids" | "records"
): Effect.Effect<void, InputError, FileSystem.FileSystem> =>
  source.description.kind !== "file" ? Effect.void : Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const found = yield* Stream.runHead(parse(Stream.mapError(fs.stream(source.name), cannotRead(what, source.name)))).pipe(
      Effect.map(Option.isSome),
      Effect.orElseSucceed(() => true)
    )
    if (!found) return yield* noIds(source, what)
  })

/** `cannot read the ids file missing.txt: no such file or directory`, without the platform's text repeated. */
const cannotRead = (what: string, path: string) => (error: PlatformError.PlatformError) =>
  new InputError({ message: `cannot read ${what} ${path}: ${fileProblem(error)}` })

const isBlank = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d

/** Whether `piece` holds anything but white space (and, at the start of the input, a BOM). */
const hasContent = (piece: Uint8Array, atStart: boolean): boolean => {
  const bom = atStart && piece[0] === 0xef && piece[1] === 0xbb && piece[2] === 0xbf ? 3 : 0
  for (let i = bom; i < piece.length; i++) if (!isBlank(piece[i]!)) return true
  return false
}

/**
 * Reads `bytes` up to the first piece with content, and returns the pieces
 * read (for stdin, which cannot be read twice) and whether there was any.
 */
const readToContent = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) =>
  Effect.gen(function*() {
    const read: Array<Chunk.Chunk<Uint8Array>> = []
    let atStart = true
    const found = yield* Stream.runFoldWhile(Stream.chunks(bytes), false, (found) => !found, (_, chunk) => {
      read.push(chunk)
      return Chunk.some(chunk, (piece) => {
        const content = hasContent(piece, atStart)
        atStart = false
        return content
      })
    })
    return { read: Chunk.flatten(Chunk.unsafeFromArray(read)), found }
  })

/**
 * The ids of `path` (`-` for stdin) in the given format. A missing file, an
 * input without a single id, or a CSV header without the column, fails
 * here, before anything starts (a mock server included); the ids are read
 * when the stream runs, and a bad line fails the run, which reports it.
 * Stdin without content fails here too; stdin with content but no id (a
 * CSV header alone) is refused by the run. `limit`, the configured body limit,
 * bounds an NDJSON line or a CSV record ({@link recordLimit}).
 */
export const open = (
  path: string,
  format: IdFormat,
  limit: number
): Effect.Effect<IdSource, InputError | InputChangedError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const maxRecord = recordLimit(limit)
    const input = yield* openBytes(path, "the ids file")
    if (path === "-") {
      // stdin cannot be read twice: the bytes the checks took go first. A
      // CSV header alone, or NDJSON of blank objects, is refused by the run.
      if (format._tag === "Csv") {
        const header = yield* CsvIds.readHeader(input.bytes, format.column, "stdin", maxRecord, format.delimiter)
        return { ...input, ids: parseIds(Stream.concat(Stream.fromChunk(header), input.bytes), format, "stdin", maxRecord) }
      }
      const { found, read } = yield* readToContent(input.bytes)
      if (!found) return yield* noIds(input)
      return { ...input, ids: parseIds(Stream.concat(Stream.fromChunk(read), input.bytes), format, "stdin", maxRecord) }
    }
    const fs = yield* FileSystem.FileSystem
    const again = Stream.mapError(fs.stream(path), cannotRead("the ids file", path))
    if (format._tag === "Csv") yield* CsvIds.readHeader(again, format.column, path, maxRecord, format.delimiter)
    // An input without an id is refused before the run. One id a line: any
    // content is an id. CSV and NDJSON: the first record, read apart (at
    // most maxRecord). A failure here is left to the run, whose report names it.
    const hasId = format._tag === "Lines"
      ? Effect.map(readToContent(again), ({ found }) => found)
      : Effect.map(Stream.runHead(parseRecords(again, format, path, maxRecord)), Option.isSome)
    if (!(yield* Effect.orElseSucceed(hasId, () => true))) return yield* noIds(input)
    return { ...input, ids: parseIds(input.bytes, format, path, maxRecord) }
  })
