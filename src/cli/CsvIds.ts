/**
 * The CSV id format (`--column`) as the CLI reads it: the ids of one column
 * (`internal/csv/ids.ts`), and a header read apart so that a wrong column
 * fails before anything is sent; a bad record names the input.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { IdLineError } from "../internal/bulk/idLines.js"
import { columnIds, headerOf, noHeader } from "../internal/csv/ids.js"
import * as CsvRows from "../internal/csv/rows.js"
import { InputError } from "./CliError.js"

const inputError = (source: string) => (error: IdLineError | CsvRows.CsvSyntaxError) =>
  new InputError({ message: `${source}, line ${error.line}: ${error.reason}` })

const isMalformed = (error: unknown): error is IdLineError | CsvRows.CsvSyntaxError =>
  error instanceof IdLineError || error instanceof CsvRows.CsvSyntaxError

/** The ids of `column`; `source` names the input in error messages; a record past `maxRecord` fails. */
export const parse = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  column: string,
  source: string,
  maxRecord?: CsvRows.RecordLimit,
  delimiter?: string
): Stream.Stream<string, E | InputError, R> =>
  columnIds(bytes, column, maxRecord, delimiter).pipe(
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
  maxRecord?: CsvRows.RecordLimit,
  delimiter?: string
): Effect.Effect<Chunk.Chunk<Uint8Array>, E | InputError, R> =>
  Effect.gen(function*() {
    const reader = CsvRows.make<IdLineError | HeaderRead>((fields, line) => {
      const header = headerOf(fields, line, column, delimiter)
      return header instanceof IdLineError ? header : new HeaderRead()
    }, maxRecord, delimiter)
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
