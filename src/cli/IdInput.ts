/**
 * Reads ids from a file or stdin as a `Stream`, pulled as the bulk engine
 * needs them: the file is never held in memory as a whole.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { resolve as resolvePath } from "node:path"
import type * as BulkJournal from "../BulkJournal.js"
import { InputError } from "./CliError.js"
import * as CsvIds from "./CsvIds.js"
import { type IdFormat, makeParser, MalformedLine } from "./IdFormat.js"

export type { IdFormat } from "./IdFormat.js"

const readChunk = 64 * 1024

/** Parses ids out of raw bytes; `source` names the input in error messages. */
export const parseIds = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  format: IdFormat,
  source: string
): Stream.Stream<string, E | InputError, R> =>
  format._tag === "Csv" ? CsvIds.parse(bytes, format.column, source) : Stream.suspend(() => {
    const parser = makeParser(format)
    const parse = <A>(f: () => Array<A>) =>
      Effect.try({
        try: f,
        catch: (error) =>
          error instanceof MalformedLine
            ? new InputError({ message: `${source}, line ${error.line}: ${error.reason}` })
            : new InputError({ message: `${source}: ${String(error)}` })
      })
    return bytes.pipe(
      Stream.decodeText(),
      Stream.mapChunksEffect((texts) => Effect.map(parse(() => parser.push(Chunk.join(texts, ""))), Chunk.unsafeFromArray)),
      Stream.concat(Stream.fromIterableEffect(parse(() => parser.end())))
    )
  })

/** Fails with "`source` has no ids" at the end of a stream that had none: such a run would do nothing. */
export const nonEmpty = <E, R>(
  ids: Stream.Stream<string, E, R>,
  source: string
): Stream.Stream<string, E | InputError, R> =>
  Stream.suspend(() => {
    let seen = false
    return ids.pipe(
      Stream.mapChunks((chunk) => {
        if (Chunk.isNonEmpty(chunk)) seen = true
        return chunk
      }),
      Stream.concat(
        Stream.suspend(() => (seen ? Stream.empty : Stream.fail(new InputError({ message: `${source} has no ids` }))))
      )
    )
  })

/** An opened input: its ids, and how much of it was read. */
export interface IdSource {
  readonly ids: Stream.Stream<string, InputError>
  /** Share of the file's bytes read so far, 0 to 1; unknown for stdin. */
  readonly fraction: () => number | undefined
  /** What the input is, as a journal records it: a file by its absolute path, size and modification time. */
  readonly description: BulkJournal.InputDescription
}

const cannotRead = (error: { readonly message: string }) =>
  new InputError({ message: `cannot read the ids file: ${error.message}` })

/**
 * The ids of `path` (`-` for stdin) in the given format. A missing file, or
 * a CSV header without the column, fails here, before anything starts; the
 * ids are read when the stream runs, and an input without any fails at its
 * end.
 */
export const open = (path: string, format: IdFormat): Effect.Effect<IdSource, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (path === "-") {
      // stdin cannot be read twice: the bytes the header check took go first.
      const bytes = format._tag === "Csv"
        ? Stream.concat(Stream.fromChunk(yield* CsvIds.readHeader(NodeStream.stdin, format.column, "stdin")), NodeStream.stdin)
        : NodeStream.stdin
      return {
        ids: nonEmpty(parseIds(bytes, format, "stdin"), "stdin"),
        fraction: () => undefined,
        description: { kind: "stdin" }
      }
    }
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.mapError(fs.stat(path), cannotRead)
    const size = Number(info.size)
    const description: BulkJournal.InputDescription = {
      kind: "file",
      path: resolvePath(path),
      size,
      mtimeMs: Option.match(info.mtime, { onNone: () => 0, onSome: (date) => date.getTime() })
    }
    if (format._tag === "Csv") {
      yield* CsvIds.readHeader(Stream.mapError(fs.stream(path, { chunkSize: readChunk }), cannotRead), format.column, path)
    }
    let read = 0
    const bytes = fs.stream(path, { chunkSize: readChunk }).pipe(
      Stream.tap((piece) => Effect.sync(() => (read += piece.length))),
      Stream.mapError(cannotRead)
    )
    return {
      ids: nonEmpty(parseIds(bytes, format, path), path),
      fraction: () => (size === 0 ? 1 : read / size),
      description
    }
  })
