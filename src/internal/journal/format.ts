/**
 * The journal's line format: one JSON event a line, its schemas, and the
 * bytes of a journal to events and back, a crash's torn last line left out.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { VoucherifyError } from "../../VoucherifyError.js"
import { isPlainObject } from "../bulk/payload.js"
import { JournalCorruptError } from "./errors.js"

/** The version of the line format that this code writes and reads. */
export const formatVersion = 1

const Sha256 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/), Schema.annotations({ identifier: "Sha256" }))
const Natural = Schema.NonNegativeInt
const At = Schema.DateTimeUtc

export const InputDescription = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("file"),
    /** As the run was given it: resuming must name the file the same way. */
    path: Schema.String,
    size: Natural,
    mtimeMs: Schema.Number
  }),
  Schema.Struct({ kind: Schema.Literal("stdin") }),
  Schema.Struct({ kind: Schema.Literal("stream") })
)

export const RunDescription = Schema.Struct({
  /**
   * `records` for a per-record run; absent for a metadata run (every
   * journal written before per-record runs existed), so that neither kind
   * can resume the other's journal.
   */
  kind: Schema.optional(Schema.Literal("records")),
  target: Schema.Literal("products", "customers", "vouchers"),
  field: Schema.Literal("source_ids", "codes"),
  /**
   * A metadata run's SHA-256 of the metadata's canonical JSON: the values
   * themselves may be anything, so they stay out. A per-record run has none:
   * its values are in the bodies, which the chunks' hashes cover.
   */
  metadataSha256: Schema.optional(Sha256),
  maxBytes: Schema.Positive.pipe(Schema.int()),
  input: InputDescription
})

/** A packed chunk as the journal knows it: no ids, no body, the body's `sha256` (hex). */
export const ChunkFacts = Schema.Struct({ index: Natural, offset: Natural, count: Natural, bytes: Natural, sha256: Sha256 })

// `type` first and `at` second in every struct: encoding keeps the field
// order, so `jq` and a person see what a line is before its details.
export const RunEvent = Schema.Struct({
  type: Schema.Literal("run"),
  at: At,
  version: Schema.Literal(formatVersion),
  runId: Schema.NonEmptyString,
  ...RunDescription.fields
})

export const JournalEvent = Schema.Union(
  RunEvent,
  Schema.Struct({ type: Schema.Literal("resumed"), at: At, chunksAccepted: Natural }),
  Schema.Struct({ type: Schema.Literal("chunk_sent"), at: At, ...ChunkFacts.fields }),
  Schema.Struct({
    type: Schema.Literal("chunk_accepted"),
    at: At,
    ...ChunkFacts.fields,
    asyncActionId: Schema.NonEmptyString
  }),
  Schema.Struct({ type: Schema.Literal("chunk_rejected"), at: At, ...ChunkFacts.fields, error: VoucherifyError }),
  Schema.Struct({
    type: Schema.Literal("chunk_unknown"),
    at: At,
    ...ChunkFacts.fields,
    error: Schema.optional(VoucherifyError)
  }),
  Schema.Struct({
    type: Schema.Literal("action_finished"),
    at: At,
    index: Natural,
    asyncActionId: Schema.NonEmptyString,
    status: Schema.Literal("DONE", "FAILED")
  })
)

export type Event = typeof JournalEvent.Type
export type Header = typeof RunEvent.Type
export type Run = typeof RunDescription.Type
export type InputDescription = typeof InputDescription.Type
export type ChunkFacts = typeof ChunkFacts.Type

const encodeEvent = Schema.encode(JournalEvent)
const decodeEvent = Schema.decodeUnknownEither(JournalEvent)
const encoder = new TextEncoder()
const utf8 = new TextDecoder("utf-8", { fatal: true })

/** One line: the event's JSON and a newline. A value our own types allow but the schema refuses is a bug. */
export const encodeLine = (event: Event): Effect.Effect<Uint8Array> =>
  Effect.map(Effect.orDie(encodeEvent(event)), (json) => encoder.encode(`${JSON.stringify(json)}\n`))

/** The JSON value of a line, or `undefined` for a line that is not UTF-8 JSON. */
const jsonOf = (bytes: Uint8Array): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(utf8.decode(bytes)) }
  } catch {
    return undefined
  }
}

const notJsonReason = (bytes: Uint8Array): string => {
  try {
    return utf8.decode(bytes).trim() === "" ? "an empty line" : "not JSON"
  } catch {
    return "not UTF-8 text"
  }
}

const schemaReason = (error: ParseResult.ParseError, json: unknown): string => {
  // a newer library's journal: say so rather than list the fields that differ
  const version = isPlainObject(json) && json.type === "run" ? json.version : undefined
  if (typeof version === "number" && version !== formatVersion) {
    return `format version ${version}; this version of effect-voucherify reads version ${formatVersion}`
  }
  // the first issue, with its path: the whole tree lists every event type
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return `not a journal event: ${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`
}

/**
 * Hands each event of a journal's bytes to `onEvent`, with its line number
 * (1 for the first), and returns how many bytes of complete, valid lines it
 * read: what a resume keeps. A last line that is not JSON, or that lacks its
 * newline, is the write a crash cut short: it is left out. Any other line
 * that is not an event, or that `onEvent` refuses, fails with its number.
 */
export const readLines = (
  path: string,
  bytes: Uint8Array,
  onEvent: (line: number, event: Event) => JournalCorruptError | undefined
): Either.Either<number, JournalCorruptError> => {
  let start = 0
  let line = 0
  for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a, start)) {
    line++
    const json = jsonOf(bytes.subarray(start, end))
    if (json === undefined) {
      if (end === bytes.length - 1) return Either.right(start)
      return Either.left(new JournalCorruptError({ path, line, reason: notJsonReason(bytes.subarray(start, end)) }))
    }
    const event = decodeEvent(json.value)
    if (Either.isLeft(event)) {
      return Either.left(new JournalCorruptError({ path, line, reason: schemaReason(event.left, json.value) }))
    }
    const error = onEvent(line, event.right)
    if (error !== undefined) return Either.left(error)
    start = end + 1
  }
  return Either.right(start)
}
