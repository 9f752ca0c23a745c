/**
 * The demo's per-record part: generated products, each with its own tier
 * and price, streamed as NDJSON bytes through `BulkRecords` to the embedded
 * mock server over real HTTP, every action awaited, then every product read
 * back from the server's store and compared with the line it came from.
 *
 * The run keeps a sync state in a temporary SQLite file (removed at the end,
 * however the demo ends): the first run fills it; then the same products
 * with 1% of them changed go again, and the state lets only those through.
 */
import { LibsqlClient } from "@effect/sql-libsql"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import * as BulkRun from "../src/BulkRun.js"
import * as BulkRecords from "../src/BulkRecords.js"
import { count } from "../src/cli/Format.js"
import * as Progress from "../src/cli/Progress.js"
import * as Summary from "../src/cli/Summary.js"
import * as SyncState from "../src/SyncState.js"
import type * as Voucherify from "../src/Voucherify.js"
import { VoucherifyConfig } from "../src/VoucherifyConfig.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"

export const defaultCount = 200_000

const tiers = ["gold", "silver", "bronze", "platinum"]

/** Whether product `i` is one of the 1% the second run changes: every 100th. */
const isChanged = (i: number) => i % 100 === 0

/** How many of `total` products the second run changes. */
export const changedCount = (total: number) => Math.ceil(total / 100)

/**
 * Product `i`: its own tier and price, and a non-ASCII warehouse for some.
 * `changed`: as the second run sends it, where every 100th product has a
 * new price (every other one of them) or a new tier (the others).
 */
const productOf = (i: number, changed = false) => {
  const edited = changed && isChanged(i)
  const newPrice = edited && i % 200 === 0
  return {
    source_id: `sku_${String(i).padStart(8, "0")}`,
    price: 100 + ((i * 37) % 10_000) + (newPrice ? 500 : 0),
    metadata: {
      tier: edited && !newPrice ? "diamond" : tiers[i % tiers.length]!,
      ...(i % 5 === 0 ? { warehouse: "Łódź-2" } : {})
    }
  }
}

const linesPerPiece = 4096
const encoder = new TextEncoder()

/** The NDJSON text of `total` products, made a piece at a time as the run pulls it. */
const ndjsonBytes = (total: number, changed: boolean): Stream.Stream<Uint8Array> =>
  Stream.unfold(0, (from) => {
    if (from >= total) return Option.none()
    const to = Math.min(total, from + linesPerPiece)
    let text = ""
    for (let i = from; i < to; i++) text += `${JSON.stringify(productOf(i, changed))}\n`
    return Option.some([encoder.encode(text), to] as const)
  })

export interface RecordsResult {
  readonly ok: boolean
  /** The first run's report: every product sent. */
  readonly report: BulkRun.Report
  /** The second run's: only the changed products sent. */
  readonly again: BulkRun.Report
  /** Products whose stored price or metadata differ from their line, or that are missing. */
  readonly wrong: ReadonlyArray<string>
}

/** A fresh directory under the system's temporary one, removed with everything in it when the scope closes. */
const temporaryDirectory: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "effect-voucherify-demo-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** The sync state in a new SQLite file, open for the scope. */
const temporaryState: Effect.Effect<SyncState.Service, SyncState.SyncStateError, Scope.Scope> = Effect.gen(function*() {
  const dir = yield* temporaryDirectory
  const url = pathToFileURL(join(dir, "state.db")).href
  const context = yield* Layer.build(SyncState.layer.pipe(Layer.provide(LibsqlClient.layer({ url }))))
  return Context.get(context, SyncState.SyncState)
})

type Env = Voucherify.Voucherify | VoucherifyConfig | MockVoucherifyServer.MockVoucherifyServer

/** One run over the `total` products (as changed or not), every action awaited, with its progress on stderr. */
const send = (options: {
  readonly total: number
  readonly changed: boolean
  readonly maxBytes: number
  readonly state: SyncState.Service
  readonly progress: Progress.ProgressMode
}): Effect.Effect<BulkRun.Report, BulkRun.BulkRunError<BulkRecords.RecordError | SyncState.SyncStateError>, Env> => {
  const { total } = options
  let latest = Progress.emptySnapshot
  let unchanged = 0
  return Effect.scoped(Effect.zipRight(
    Progress.render({
      mode: options.progress,
      snapshot: () => latest,
      // the unchanged records are done with once read
      fraction: (s) => (total === 0 ? 1 : (s.itemsAccepted + unchanged) / total),
      awaiting: true,
      every: "2 seconds",
      item: "record"
    }),
    BulkRecords.run(BulkRecords.ndjson(ndjsonBytes(total, options.changed)), {
      target: "products",
      await: true,
      maxBytes: options.maxBytes,
      state: options.state,
      onProgress: (p) => {
        latest = p
        unchanged = p.itemsUnchanged
      }
    })
  ))
}

/** Up to 5 products whose stored price or metadata differ from their line (as changed or not), or that are missing. */
const wrongProducts = (total: number, changed: boolean) =>
  Effect.gen(function*() {
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    const wrong: Array<string> = []
    for (let i = 0; i < total; i++) {
      const expected = productOf(i, changed)
      const stored = yield* server.getRecord("products", expected.source_id)
      const same = Option.isSome(stored) && stored.value.fields["price"] === expected.price &&
        JSON.stringify(stored.value.metadata) === JSON.stringify(expected.metadata)
      if (!same && wrong.push(expected.source_id) >= 5) break
    }
    return wrong
  })

export const run = (options: {
  readonly total: number
  readonly maxBytes?: number | undefined
  readonly progress: Progress.ProgressMode
}): Effect.Effect<
  RecordsResult,
  BulkRun.BulkRunError<BulkRecords.RecordError | SyncState.SyncStateError> | SyncState.SyncStateError,
  Env
> =>
  Effect.scoped(Effect.gen(function*() {
    const { progress, total } = options
    const maxBytes = options.maxBytes ?? (yield* VoucherifyConfig).maxPayloadBytes
    const state = yield* temporaryState
    const summary = (report: BulkRun.Report) => Summary.table(report, { maxBytes, awaited: true, item: "record" })

    yield* Console.error(
      `per-record: streaming ${count(total)} products as NDJSON, each with its own tier and price, into a sync state`
    )
    const report = yield* send({ total, changed: false, maxBytes, state, progress })
    const wrong = yield* wrongProducts(total, false)
    yield* Console.log(summary(report))
    const ok = Summary.isComplete(report, true) && report.unchanged === 0 && wrong.length === 0
    yield* Console.log(
      ok
        ? `verified      all ${count(total)} products in the server's store carry their own tier and price`
        : `verification FAILED: e.g. ${wrong.join(", ")}`
    )
    if (!ok) return { ok, report, again: report, wrong }

    const changed = changedCount(total)
    yield* Console.error(
      `per-record, again: ${count(total)} products, 1% changed (${count(changed)}): a sync state sends only those`
    )
    const again = yield* send({ total, changed: true, maxBytes, state, progress })
    const wrongAgain = yield* wrongProducts(total, true)
    yield* Console.log(summary(again))
    const counted = again.accepted.items === changed && again.unchanged === total - changed
    const okAgain = Summary.isComplete(again, true) && counted && wrongAgain.length === 0
    yield* Console.log(
      okAgain
        ? `verified      only the ${count(changed)} changed products were sent, ${
          count(total - changed)
        } skipped; the store holds the new values`
        : `verification FAILED: ${count(again.accepted.items)} sent, ${count(again.unchanged ?? 0)} unchanged (expected ${
          count(changed)
        } and ${count(total - changed)})${wrongAgain.length > 0 ? `; e.g. ${wrongAgain.join(", ")}` : ""}`
    )
    return { ok: okAgain, report, again, wrong: wrongAgain }
  }))
