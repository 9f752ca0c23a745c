/**
 * `--dry-run`: packs the ids exactly as a real run would and prints the
 * chunk plan, one line per chunk (one bulk request each), without sending
 * anything. The plan is printed once the whole input has been checked: an
 * input refused half-way leaves nothing on stdout, only its error.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as BulkMetadata from "../BulkMetadata.js"
import type * as BulkRecords from "../BulkRecords.js"
import type { InvalidRequestError } from "../VoucherifyError.js"
import { type InputChangedError, InputError } from "./CliError.js"
import type * as SyncState from "../SyncState.js"
import { count, counted, fill, megabytes } from "./Format.js"
import * as IdInput from "./IdInput.js"
import { type Identify, stateSince, Sync } from "../internal/state/sync.js"
import type { BulkTarget } from "../VoucherifySchema.js"
import * as State from "./State.js"

const isSyncStateError = (error: unknown): error is SyncState.SyncStateError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SyncStateError"

/** `--dry-run --state`: what the state would let through, and how many it held back. */
export interface StateFilter {
  readonly through: <E>(items: Stream.Stream<string, E>) => Stream.Stream<string, E | InputError>
  readonly unchanged: () => number
}

/**
 * The state's filter for a dry run, read only: nothing is locked, created or
 * written. No state file yet: no filter (every item would be sent).
 */
export const stateFilter = (
  state: Option.Option<{ readonly path: string; readonly maxAge: Duration.Duration | undefined }>,
  target: BulkTarget,
  identify: Identify
): Effect.Effect<StateFilter | undefined, InputError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    if (Option.isNone(state)) return undefined
    const { maxAge, path } = state.value
    const service = yield* State.open(path, { readOnly: true })
    if (service === undefined) return undefined
    const sync = new Sync(service, target, identify, yield* stateSince(maxAge))
    let unchanged = 0
    return {
      through: (items) =>
        Stream.mapError(
          sync.changed(items, (count) => Effect.sync(() => (unchanged += count))),
          (error) =>
            // by its tag: a value import of SyncState would load @effect/sql at every start of the bin
            isSyncStateError(error)
              ? new InputError({ message: `cannot read the state ${path}: ${error.message}` })
              : error
        ),
      unchanged: () => unchanged
    }
  })

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
  options: {
    readonly maxBytes: number
    readonly what: "ids" | "records"
    /** With `--state`: how many items the state held back, once the chunks are read. */
    readonly unchanged?: (() => number) | undefined
  }
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
    const unchanged = options.unchanged?.()
    if (totals.ids === 0 && !(unchanged !== undefined && unchanged > 0)) return yield* IdInput.noIds(source, options.what)
    const average = totals.chunks === 0 ? "-" : fill(totals.bytes / totals.chunks, options.maxBytes)
    plan.push(
      `${counted(totals.chunks, "chunk")} for ${counted(totals.ids, options.what === "ids" ? "id" : "record")}, ${count(totals.bytes)} bytes (${
        megabytes(totals.bytes)
      }), average fill ${average} of ${count(options.maxBytes)} bytes`,
      ...(unchanged === undefined
        ? []
        : [`${count(totals.ids)} would be sent, ${count(unchanged)} skipped (the state holds them as confirmed)`]),
      "dry run: nothing was sent"
    )
    yield* Console.log(plan.join("\n"))
  })
