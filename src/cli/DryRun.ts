/**
 * `--dry-run`: packs the ids exactly as a real run would and prints the
 * chunk plan, one line per chunk (one bulk request each), without sending
 * anything. The plan is printed once the whole input has been checked: an
 * input refused half-way leaves nothing on stdout, only its error.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BulkMetadata from "../BulkMetadata.js"
import type * as BulkRecords from "../BulkRecords.js"
import type { InvalidRequestError } from "../VoucherifyError.js"
import type { InputChangedError, InputError } from "./CliError.js"
import { count, counted, fill, megabytes } from "./Format.js"
import * as IdInput from "./IdInput.js"

const columns = (...cells: ReadonlyArray<string>) =>
  cells.map((cell, i) => (i === 0 ? cell.padStart(6) : cell.padStart([12, 10, 12, 9][i - 1]!))).join(" ")

/**
 * Prints the plan of `chunks`, the bodies a run of `source` would send
 * (`BulkMetadata.chunk` of its ids, or its records packed): `what` the input
 * holds, for an empty one.
 */
export const printPlan = (
  source: IdInput.IdSource | IdInput.ByteSource,
  chunks: Stream.Stream<
    BulkMetadata.BulkChunk,
    InputError | InputChangedError | InvalidRequestError | BulkMetadata.IdLineError | BulkRecords.RecordError
  >,
  options: { readonly maxBytes: number; readonly what: "ids" | "records" }
): Effect.Effect<void, InputError | InputChangedError | InvalidRequestError> =>
  Effect.gen(function*() {
    // a line per request: a few dozen for millions of ids
    const plan = [columns("chunk", "offset", options.what, "bytes", "fill")]
    const totals = yield* chunks.pipe(
      Stream.runFold({ chunks: 0, ids: 0, bytes: 0 }, (totals, chunk) => {
        plan.push(columns(String(chunk.index), count(chunk.offset), count(chunk.size), count(chunk.bytes), fill(chunk.bytes, options.maxBytes)))
        return { chunks: totals.chunks + 1, ids: totals.ids + chunk.size, bytes: totals.bytes + chunk.bytes }
      }),
      Effect.mapError(IdInput.describe(source))
    )
    if (totals.ids === 0) return yield* IdInput.noIds(source, options.what)
    const average = totals.chunks === 0 ? "-" : fill(totals.bytes / totals.chunks, options.maxBytes)
    plan.push(
      `${counted(totals.chunks, "chunk")} for ${counted(totals.ids, options.what === "ids" ? "id" : "record")}, ${count(totals.bytes)} bytes (${
        megabytes(totals.bytes)
      }), average fill ${average} of ${count(options.maxBytes)} bytes`,
      "dry run: nothing was sent"
    )
    yield* Console.log(plan.join("\n"))
  })
