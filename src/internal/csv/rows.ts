/**
 * Incremental CSV reading (RFC 4180) on csv-parse, shared by the report-file
 * decoder, CSV records and the CLI's `--column` ids. Bytes go in as they
 * arrive; each complete record comes out with the line it starts on, so a
 * million-row file costs one Effect step per input chunk, none per row. A
 * record is not a line (a quoted field may hold line breaks): csv-parse, not
 * the line splitter, cuts them.
 *
 * Lenient where files differ harmlessly: a UTF-8 BOM, CRLF or LF (mixed
 * too), quoted fields holding commas, doubled quotes and line breaks, empty
 * lines and lines of spaces (skipped). Only csv-parse's documented stream
 * API is used (`write`, `read`, `end`). Record widths are not checked here:
 * the caller knows its header.
 *
 * @internal
 */
import { CsvError, Parser } from "csv-parse"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"

/** The text is not CSV at `line` (counted from 1, where the broken record starts). */
export class CsvSyntaxError extends Data.TaggedError("CsvSyntaxError")<{
  readonly line: number
  readonly reason: string
}> {}

/**
 * Receives each record's fields and the line it starts on; returns a failure
 * to stop the reading there, or `undefined` to go on.
 */
export type RecordHandler<E> = (fields: Array<string>, line: number) => E | undefined

export interface CsvReader<E> {
  /** Parses the next bytes, handing every record they complete to the handler. */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, E | CsvSyntaxError>
  /** The input ended: hands over the last record if its line break is missing. */
  readonly end: Effect.Effect<void, E | CsvSyntaxError>
}

const isBlank = (fields: Array<string>) => fields.length === 1 && fields[0]!.trim().length === 0

/**
 * The longest record a reader takes, in bytes, and why nothing longer can be
 * used: a longer one fails as soon as it gets there, not held whole.
 */
export interface RecordLimit {
  readonly limit: number
  readonly why: string
}

const reasonOf = (error: CsvError, maxRecord: RecordLimit | undefined): string => {
  switch (error.code) {
    case "CSV_MAX_RECORD_SIZE":
      return maxRecord === undefined ? error.message : `the record runs past ${maxRecord.limit} bytes: ${maxRecord.why}`
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field opened here is never closed"
    case "INVALID_OPENING_QUOTE":
      return "a quote inside an unquoted field (quote the whole field and double the quote)"
    case "CSV_INVALID_CLOSING_QUOTE":
      return "text after a closing quote"
    default:
      return error.message
  }
}

const newlines = (fields: Array<string>): number => {
  let count = 0
  for (const field of fields) {
    for (let i = field.indexOf("\n"); i !== -1; i = field.indexOf("\n", i + 1)) count++
  }
  return count
}

/**
 * What to add to "the header has no column …" when the header row is one
 * field holding a `;`, a tab or a `|`: the file is likely separated by it,
 * and `give` says how to tell the reader so (`--delimiter ";"`).
 */
export const delimiterHint = (
  names: ReadonlyArray<string>,
  delimiter: string | undefined,
  give: (delimiter: string) => string
): string => {
  // fields read with another separator than the comma: the hint's "not commas" would not be true
  if (delimiter !== undefined && delimiter !== ",") return ""
  const seen = names.length === 1 ? [";", "\t", "|"].find((c) => names[0]!.includes(c)) : undefined
  if (seen === undefined) return ""
  const what = seen === "\t" ? "tabs" : `"${seen}"`
  return `; its fields look separated by ${what}, not commas: ${give(seen)}`
}

/**
 * Whether `delimiter` can separate CSV fields: one ASCII character, a tab or
 * a printable one, but a quote (which quotes a field) or a space (which a
 * cell may hold). The one rule of `--delimiter` and `CsvOptions.delimiter`.
 */
export const isDelimiter = (delimiter: string): boolean => /^[\t\x21-\x7e]$/.test(delimiter) && delimiter !== "\""

/**
 * A reader for one input; a record longer than `maxRecord` fails it. Fields
 * are separated by `delimiter` (default `,`).
 */
export const make = <E>(onRecord: RecordHandler<E>, maxRecord?: RecordLimit, delimiter = ","): CsvReader<E> => {
  let failure: E | undefined
  // The line the next record starts on. csv-parse's own count is per chunk,
  // not per record; a record spans one line plus one per line break quoted in
  // it. Empty lines come out as blank records, so they are counted too.
  let line = 1
  const parser = new Parser({
    bom: true,
    delimiter,
    relax_column_count: true,
    record_delimiter: ["\r\n", "\n"],
    ...(maxRecord === undefined ? {} : { max_record_size: maxRecord.limit })
  })
  // Failures are taken from the write and end callbacks; without a listener
  // the stream's own "error" event would crash the process.
  parser.on("error", () => {})
  // Records are read as soon as they are parsed: a Transform holds its write
  // callback while more than a few records wait to be read.
  const drain = () => {
    let fields: Array<string> | null
    while ((fields = parser.read()) !== null) {
      if (failure !== undefined) continue
      const start = line
      line += 1 + newlines(fields)
      if (!isBlank(fields)) failure = onRecord(fields, start)
    }
  }
  const settle = (resume: (effect: Effect.Effect<void, E | CsvSyntaxError>) => void) => (error?: Error | null) => {
    drain()
    if (failure !== undefined) return resume(Effect.fail(failure))
    if (error === undefined || error === null) return resume(Effect.void)
    if (!(error instanceof CsvError)) return resume(Effect.die(error))
    resume(Effect.fail(new CsvSyntaxError({ line, reason: reasonOf(error, maxRecord) })))
  }
  return {
    write: (bytes) =>
      Effect.async((resume) => {
        parser.write(bytes, settle(resume))
        drain()
      }),
    end: Effect.async((resume) => void parser.end(settle(resume)))
  }
}

/** A record's fields and the line it starts on (from 1). */
export interface Row {
  readonly fields: Array<string>
  readonly line: number
}

/**
 * The rows of `bytes`, one output chunk per input chunk; a record longer
 * than `maxRecord` fails it. The rows before a syntax error are emitted
 * before it. Decode them with `internal/text/decode.ts`.
 */
export const rows = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  maxRecord?: RecordLimit,
  delimiter?: string
): Stream.Stream<Row, E | CsvSyntaxError, R> =>
  Stream.suspend(() => {
    let out: Array<Row> = []
    const reader = make<never>((fields, line) => {
      out.push({ fields, line })
      return undefined
    }, maxRecord, delimiter)
    const step = (effect: Effect.Effect<void, CsvSyntaxError>) =>
      Effect.map(Effect.either(effect), (result) => {
        const read = Stream.fromChunk(Chunk.unsafeFromArray(out))
        out = []
        return Either.isLeft(result) ? Stream.concat(read, Stream.fail(result.left)) : read
      })
    return Stream.concat(
      Stream.mapEffect(Stream.chunks(bytes), (pieces) => step(Effect.forEach(pieces, reader.write, { discard: true }))),
      Stream.fromEffect(step(reader.end))
    ).pipe(Stream.flatten())
  })
