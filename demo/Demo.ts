/**
 * The demo's work, apart from its entry point so that a test can run it
 * with fewer ids: stream generated product ids through `BulkMetadata` to the
 * embedded mock server over real HTTP, await every async action, then read
 * the server's store back to prove that every product carries the metadata.
 */
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRun from "../src/BulkRun.js"
import { InputError } from "../src/cli/CliError.js"
import { count } from "../src/cli/Format.js"
import * as Progress from "../src/cli/Progress.js"
import * as Summary from "../src/cli/Summary.js"
import type * as Voucherify from "../src/Voucherify.js"
import { VoucherifyConfig } from "../src/VoucherifyConfig.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"

export const defaultCount = 2_000_000

/**
 * A count given on the command line or in the environment: absent is
 * `None`; anything but a whole number of at least 1 is an input error.
 */
export const parseCount = (name: string, text: string | undefined): Effect.Effect<Option.Option<number>, InputError> => {
  if (text === undefined) return Effect.succeed(Option.none())
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  return Number.isSafeInteger(n) && n >= 1
    ? Effect.succeed(Option.some(n))
    : Effect.fail(new InputError({ message: `${name} must be a whole number of at least 1, got "${text}"` }))
}

const metadata = { campaign: "demo", origin: "PL", updated_by: "effect-voucherify" }

const idOf = (i: number) => `prod_${String(i).padStart(8, "0")}`

const batch = 65_536

/** `prod_00000000`, `prod_00000001`, …: made a batch at a time as the engine pulls, never all at once. */
const generatedIds = (total: number): Stream.Stream<string> =>
  Stream.unfoldChunk(0, (from) => {
    if (from >= total) return Option.none()
    const to = Math.min(total, from + batch)
    const ids = new Array<string>(to - from)
    for (let i = from; i < to; i++) ids[i - from] = idOf(i)
    return Option.some([Chunk.unsafeFromArray(ids), to] as const)
  })

function* allIds(total: number) {
  for (let i = 0; i < total; i++) yield idOf(i)
}

export interface DemoResult {
  readonly ok: boolean
  readonly report: BulkRun.Report
  readonly check: MockVoucherifyServer.MetadataCheck
}

export interface DemoOptions {
  readonly total: number
  /** The largest request body. Default: the configured limit (10 MB). */
  readonly maxBytes?: number | undefined
  readonly progress: Progress.ProgressMode
}

export const run = (
  { progress, total, ...options }: DemoOptions
): Effect.Effect<
  DemoResult,
  BulkRun.BulkRunError,
  Voucherify.Voucherify | VoucherifyConfig | MockVoucherifyServer.MockVoucherifyServer
> =>
  Effect.gen(function*() {
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    const maxBytes = options.maxBytes ?? (yield* VoucherifyConfig).maxPayloadBytes
    yield* Console.error(
      `MockVoucherifyServer on ${server.baseUrl}: streaming ${count(total)} product ids, limit ${
        count(maxBytes)
      } bytes a request`
    )
    let latest = Progress.emptySnapshot
    const report = yield* Effect.scoped(Effect.zipRight(
      Progress.render({
        mode: progress,
        snapshot: () => latest,
        // ids are read a few bodies ahead of the network: count the accepted ones
        fraction: (s) => (total === 0 ? 1 : s.itemsAccepted / total),
        awaiting: true,
        every: "2 seconds"
      }),
      BulkMetadata.run(generatedIds(total), {
        target: "products",
        metadata,
        await: true,
        maxBytes,
        onProgress: (p) => {
          latest = p
        }
      })
    ))
    const check = yield* server.checkMetadata("products", allIds(total), metadata)
    const stored = yield* server.count("products")
    yield* Console.log(Summary.table(report, { maxBytes, awaited: true }))
    const ok = Summary.isComplete(report, true) && check.missing === 0 && check.mismatched === 0 && stored === total
    yield* Console.log(
      ok
        ? `verified      all ${count(check.checked)} products in the server's store carry the metadata`
        : `verification FAILED: ${count(check.missing)} missing, ${count(check.mismatched)} without the metadata, ${
          count(stored)
        } stored (e.g. ${check.examples.join(", ")})`
    )
    return { ok, report, check }
  })
