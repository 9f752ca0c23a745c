/**
 * `npm start`: the whole job on the embedded mock server, with no account.
 * `npm start -- 50000` (or `DEMO_IDS=50000 npm start`) runs it with fewer ids;
 * `DEMO_MAX_BYTES=100000` makes smaller requests.
 * Exits 0 only if every product is verified in the server's store.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { printCause } from "../src/cli/ErrorOutput.js"
import * as Progress from "../src/cli/Progress.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as Voucherify from "../src/Voucherify.js"
import * as VoucherifyHttpClient from "../src/VoucherifyHttpClient.js"
import * as Demo from "./Demo.js"

const total = Number(process.argv[2] ?? process.env.DEMO_IDS ?? Demo.defaultCount)
const maxBytes = process.env.DEMO_MAX_BYTES === undefined ? undefined : Number(process.env.DEMO_MAX_BYTES)

const ClientLive = Voucherify.layer.pipe(
  Layer.provideMerge(VoucherifyHttpClient.layer),
  Layer.provideMerge(MockVoucherifyServer.layerClientConfig()),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.provideMerge(MockVoucherifyServer.layer())
)

Effect.suspend(() =>
  Number.isSafeInteger(total) && total >= 0
    ? Demo.run({ total, maxBytes, progress: Progress.modeFor(false, process.stderr.isTTY) }).pipe(
      Effect.filterOrFail((result) => result.ok, () => "the store does not match: verification failed")
    )
    : Effect.dieMessage(`the id count must be a whole number, got ${process.argv[2] ?? process.env.DEMO_IDS}`)
).pipe(
  Effect.tapErrorCause(printCause),
  Effect.provide(ClientLive),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? 0 : Cause.isInterrupted(exit.cause) ? 130 : 1)
  })
)
