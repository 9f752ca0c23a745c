/**
 * The demo's per-record part: generated products, each with its own tier
 * and price, streamed as NDJSON bytes through `BulkRecords` to the embedded
 * mock server over real HTTP, every action awaited, then every product read
 * back from the server's store and compared with the line it came from.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BulkRun from "../src/BulkRun.js"
import * as BulkRecords from "../src/BulkRecords.js"
import { count } from "../src/cli/Format.js"
import * as Progress from "../src/cli/Progress.js"
import * as Summary from "../src/cli/Summary.js"
import type * as Voucherify from "../src/Voucherify.js"
import { VoucherifyConfig } from "../src/VoucherifyConfig.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"

export const defaultCount = 200_000

const tiers = ["gold", "silver", "bronze", "platinum"]

/** Product `i`: its own tier and price, and a non-ASCII warehouse for some. */
const productOf = (i: number) => ({
  source_id: `sku_${String(i).padStart(8, "0")}`,
  price: 100 + ((i * 37) % 10_000),
  metadata: { tier: tiers[i % tiers.length]!, ...(i % 5 === 0 ? { warehouse: "Łódź-2" } : {}) }
})

const linesPerPiece = 4096
const encoder = new TextEncoder()

/** The NDJSON text of `total` products, made a piece at a time as the run pulls it. */
const ndjsonBytes = (total: number): Stream.Stream<Uint8Array> =>
  Stream.unfold(0, (from) => {
    if (from >= total) return Option.none()
    const to = Math.min(total, from + linesPerPiece)
    let text = ""
    for (let i = from; i < to; i++) text += `${JSON.stringify(productOf(i))}\n`
    return Option.some([encoder.encode(text), to] as const)
  })

export interface RecordsResult {
  readonly ok: boolean
  readonly report: BulkRun.Report
  /** Products whose stored price or metadata differ from their line, or that are missing. */
  readonly wrong: ReadonlyArray<string>
}

export const run = (options: {
  readonly total: number
  readonly maxBytes?: number | undefined
  readonly progress: Progress.ProgressMode
}): Effect.Effect<
  RecordsResult,
  BulkRun.BulkRunError<BulkRecords.RecordError>,
  Voucherify.Voucherify | VoucherifyConfig | MockVoucherifyServer.MockVoucherifyServer
> =>
  Effect.gen(function*() {
    const { total } = options
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    const maxBytes = options.maxBytes ?? (yield* VoucherifyConfig).maxPayloadBytes
    yield* Console.error(`per-record: streaming ${count(total)} products as NDJSON, each with its own tier and price`)
    let latest = Progress.emptySnapshot
    const report = yield* Effect.scoped(Effect.zipRight(
      Progress.render({
        mode: options.progress,
        snapshot: () => latest,
        fraction: (s) => (total === 0 ? 1 : s.itemsAccepted / total),
        awaiting: true,
        every: "2 seconds",
        item: "record"
      }),
      BulkRecords.run(BulkRecords.ndjson(ndjsonBytes(total)), {
        target: "products",
        await: true,
        maxBytes,
        onProgress: (p) => {
          latest = p
        }
      })
    ))
    const wrong: Array<string> = []
    for (let i = 0; i < total; i++) {
      const expected = productOf(i)
      const stored = yield* server.getRecord("products", expected.source_id)
      const same = Option.isSome(stored) && stored.value.fields["price"] === expected.price &&
        JSON.stringify(stored.value.metadata) === JSON.stringify(expected.metadata)
      if (!same && wrong.push(expected.source_id) >= 5) break
    }
    yield* Console.log(Summary.table(report, { maxBytes, awaited: true, item: "record" }))
    const ok = Summary.isComplete(report, true) && wrong.length === 0
    yield* Console.log(
      ok
        ? `verified      all ${count(total)} products in the server's store carry their own tier and price`
        : `verification FAILED: e.g. ${wrong.join(", ")}`
    )
    return { ok, report, wrong }
  })
