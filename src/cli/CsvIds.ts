/**
 * The CSV id format (`--column`): the ids of one column of a CSV file whose
 * header row names the columns, read with csv-parse (the parser the library
 * reads report files with), a chunk of bytes at a time.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as CsvRecords from "../internal/csv/records.js"
import { InputError } from "./CliError.js"
import { idError, IdLineError } from "../internal/bulk/idLines.js"

interface Header {
  readonly width: number
  readonly index: number
}

const headerOf = (fields: Array<string>, line: number, column: string): Header | IdLineError => {
  const names = fields.map((name) => name.trim())
  const index = names.indexOf(column)
  return index === -1
    ? new IdLineError({ line, reason: `the header has no column "${column}" (columns: ${names.join(", ")})` })
    : { width: fields.length, index }
}

const noHeader = (column: string) =>
  new IdLineError({ line: 1, reason: `the CSV has no header row naming the column "${column}"` })

const decoder = (column: string) => (): CsvRecords.Decoder<string, IdLineError> => {
  let header: Header | undefined
  return {
    onRecord: (fields, line, out) => {
      if (header === undefined) {
        const read = headerOf(fields, line, column)
        if (read instanceof IdLineError) return read
        header = read
        return
      }
      if (fields.length !== header.width) {
        return new IdLineError({ line, reason: `${fields.length} fields where the header has ${header.width}` })
      }
      const id = fields[header.index]!
      const refused = idError(id, line, `column "${column}"`)
      if (refused !== undefined) return refused
      out.push(id)
    },
    onEnd: () => (header === undefined ? noHeader(column) : undefined)
  }
}

const inputError = (source: string) => (error: IdLineError | CsvRecords.CsvSyntaxError) =>
  new InputError({ message: `${source}, line ${error.line}: ${error.reason}` })

const isMalformed = (error: unknown): error is IdLineError | CsvRecords.CsvSyntaxError =>
  error instanceof IdLineError || error instanceof CsvRecords.CsvSyntaxError

/** The ids of `column`; `source` names the input in error messages; a record past `maxRecord` fails. */
export const parse = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  column: string,
  source: string,
  maxRecord?: CsvRecords.RecordLimit
): Stream.Stream<string, E | InputError, R> =>
  CsvRecords.decode(bytes, decoder(column), maxRecord).pipe(
    Stream.mapError((error) => (isMalformed(error) ? inputError(source)(error) : error))
  )

/** The reading stopped at the header on purpose: it names the column. */
class HeaderRead {
  readonly _tag = "HeaderRead"
}

/**
 * Reads `bytes` up to the end of the header row and checks that it names
 * `column`, so that a wrong column fails before anything is sent. Returns the
 * bytes it read, for an input that cannot be read twice (stdin).
 */
export const readHeader = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  column: string,
  source: string,
  maxRecord?: CsvRecords.RecordLimit
): Effect.Effect<Chunk.Chunk<Uint8Array>, E | InputError, R> =>
  Effect.gen(function*() {
    const reader = CsvRecords.make<IdLineError | HeaderRead>((fields, line) => {
      const header = headerOf(fields, line, column)
      return header instanceof IdLineError ? header : new HeaderRead()
    }, maxRecord)
    /** Whether the header was read (and named the column) by the time `effect` ends. */
    const headerIn = <E1>(effect: Effect.Effect<void, E1 | HeaderRead>) =>
      Effect.catchIf(Effect.as(effect, false), (error): error is HeaderRead => error instanceof HeaderRead, () =>
        Effect.succeed(true))
    // Whole chunks, as they came: a chunk read is never dropped.
    const read: Array<Chunk.Chunk<Uint8Array>> = []
    let found = yield* Stream.runFoldWhileEffect(Stream.chunks(bytes), false, (found) => !found, (_, chunk) => {
      read.push(chunk)
      return headerIn(Effect.forEach(chunk, reader.write, { discard: true }))
    })
    // A header without a line break is complete only at the end.
    if (!found) found = yield* headerIn(reader.end)
    if (!found) return yield* Effect.fail(noHeader(column))
    return Chunk.flatten(Chunk.unsafeFromArray(read))
  }).pipe(Effect.mapError((error) => (isMalformed(error) ? inputError(source)(error) : error)))
