/**
 * `BulkRecords.run`: the per-record endpoints' job on the bulk engine. The
 * records are checked and encoded one by one (`check.ts`), then packed
 * as JSON text between `[` and `]`, with the same exact byte accounting,
 * concurrency, quota waits, journal, await and report as a metadata run.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { BulkRunError, Report } from "../../BulkRun.js"
import * as Voucherify from "../../Voucherify.js"
import { InvalidRequestError } from "../../VoucherifyError.js"
import type { BulkRecord, BulkTarget } from "../../VoucherifySchema.js"
import { bulkTargets } from "../bulkTargets.js"
import { runJob } from "../bulk/engine.js"
import { packInput } from "../bulk/linePacker.js"
import type { BulkChunk } from "../bulk/model.js"
import { fromInput, makePacking, type Packing } from "../bulk/packer.js"
import type { Frame } from "../bulk/payload.js"
import * as Journal from "../journal/ledger.js"
import { RecordChecker, type RecordError } from "./check.js"
import { csvRecords } from "../csv/records.js"
import { decode } from "../text/decode.js"
import { ndjsonRecords } from "./ndjson.js"
import { type Identify, KnownRecords } from "../state/sync.js"
import type { Input, RunOptions, Text } from "./model.js"

const head = "["
const tail = "]"

/** The frame of a per-record body: `[record,record,…]`. */
export const recordsFrame = (target: BulkTarget): Frame => {
  const { idField } = bulkTargets[target].records
  return {
    head,
    tail,
    quoted: false,
    itemPath: "records",
    beside: "in a body of its own",
    idsOf: (body) => (body as ReadonlyArray<Readonly<Record<string, string>>>).map((record) => record[idField]!)
  }
}

/** The packing of a per-record run: repeated ids are refused by the checker, never dropped. */
export const recordsPacking = (target: BulkTarget, maxBytes: number, largest?: number): Packing | InvalidRequestError =>
  makePacking(recordsFrame(target), maxBytes, false, largest)

export const isText = <A, E, R>(input: Input<A, E, R>): input is Text<E, R> =>
  Predicate.hasProperty(input, "_tag") && input._tag === "RecordText"

/**
 * The JSON text of every record of `input`, checked for `target` and for
 * bodies of `maxBytes`, in input order. `idsDistinct`: a look at the whole
 * input found every id different, so the run keeps no set of ids (the CLI's
 * first look at a records file; an application's stream has none).
 */
export const recordItems = <A, E, R>(
  input: Input<A, E, R>,
  target: BulkTarget,
  maxBytes: number,
  idsDistinct = false,
  /** With a sync state and `idsDistinct`: the NDJSON lines the state knows, passed over unparsed. */
  known?: KnownRecords
): Stream.Stream<string, E | RecordError, R> => {
  // a new checker (and its set of ids) each time the stream runs
  const checker = () => new RecordChecker(target, maxBytes - head.length - tail.length, !idsDistinct)
  if (isText(input)) {
    return input.format._tag === "Ndjson"
      ? ndjsonRecords(input.bytes, checker, known)
      : csvRecords(input.bytes, target, input.format.options, checker)
  }
  return decode(fromInput(input), () => {
    const check = checker()
    return {
      push: (record, out) => {
        const json = check.take(record)
        if (typeof json !== "string") return json
        out.push(json)
        return undefined
      },
      end: () => undefined
    }
  })
}

/** The bodies a run of `input` would send, without sending: `--dry-run`. */
export const chunkRecords = <A, E, E2 = never>(
  input: Input<A, E>,
  target: BulkTarget,
  maxBytes: number,
  idsDistinct = false,
  /** With `--state`: the records the state lets through. */
  through?: (items: Stream.Stream<string, E | RecordError>) => Stream.Stream<string, E | RecordError | E2>
): Stream.Stream<BulkChunk, E | E2 | RecordError | InvalidRequestError> =>
  Stream.suspend(() => {
    const packing = recordsPacking(target, maxBytes)
    const items = recordItems(input, target, maxBytes, idsDistinct)
    return packing instanceof InvalidRequestError
      ? Stream.fail(packing)
      : packInput(through === undefined ? items : through(items), packing)
  })

/**
 * How a sync state names a record: its id, and the hash of its canonical
 * JSON, read from the record's text (the state's stage does so only for a
 * record whose text it has not seen confirmed).
 */
export const recordIdentity = (target: BulkTarget, known?: KnownRecords): Identify => ({
  _tag: "Each",
  kind: "records",
  idField: bulkTargets[target].records.idField,
  known
})

/** `BulkRecords.run`; `idsDistinct` as {@link recordItems} takes it. */
export const runRecords = <T extends BulkTarget, E, R, R2>(
  input: Input<BulkRecord<T>, E, R>,
  options: RunOptions<T, R2>,
  idsDistinct = false
): Effect.Effect<Report, BulkRunError<E | RecordError>, R | R2 | Voucherify.Voucherify> =>
  Effect.flatMap(Voucherify.Voucherify, (voucherify) => {
    const { target } = options
    const maxBytes = options.maxBytes ?? voucherify.maxPayloadBytes
    // a line the state knows is passed over unparsed only where no repeated id can hide behind it
    const known = options.state !== undefined && idsDistinct ? new KnownRecords() : undefined
    return runJob(recordItems(input, target, maxBytes, idsDistinct, known), options, { name: "BulkRecords", unit: "records" }, target, () =>
      Effect.gen(function*() {
        const packing = recordsPacking(target, maxBytes, voucherify.maxPayloadBytes)
        if (packing instanceof InvalidRequestError) return yield* packing
        return {
          target,
          packing,
          description: Journal.describeRecordsRun({
            target,
            field: bulkTargets[target].field,
            maxBytes: packing.maxBytes,
            input: options.source ?? { kind: "stream" }
          }),
          send: (chunk: BulkChunk) =>
            voucherify.sendEncodedBulkRequest({ target, body: chunk.body, ids: chunk.size, kind: "records" }),
          identify: recordIdentity(target, known)
        }
      }))
  })
