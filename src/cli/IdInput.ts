/**
 * Reads ids from a file or stdin as a `Stream`, pulled as the bulk engine
 * needs them: the file is never held in memory as a whole.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { InputError } from "./CliError.js"
import { type IdFormat, makeParser, MalformedLine } from "./IdFormat.js"

export type { IdFormat } from "./IdFormat.js"

const readChunk = 64 * 1024

/** Parses ids out of raw bytes; `source` names the input in error messages. */
export const parseIds = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  format: IdFormat,
  source: string
): Stream.Stream<string, E | InputError, R> =>
  Stream.suspend(() => {
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

/** The ids of `path` (`-` for stdin) in the given format. */
export const readIds = (
  path: string,
  format: IdFormat
): Stream.Stream<string, InputError, FileSystem.FileSystem> => {
  if (path === "-") return parseIds(NodeStream.stdin, format, "stdin")
  const bytes = Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) => fs.stream(path, { chunkSize: readChunk }))
  ).pipe(
    Stream.mapError((error) => new InputError({ message: `cannot read the ids file: ${error.message}` }))
  )
  return parseIds(bytes, format, path)
}
