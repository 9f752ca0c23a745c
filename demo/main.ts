/**
 * `npm start`: the whole job on the embedded mock server, with no account:
 * one metadata object onto millions of products, then 200,000 products each
 * with its own values, then the same products with 1% of them changed, of
 * which a sync state (a temporary SQLite file) sends only those.
 * `npm start -- 50000` (or `DEMO_IDS=50000 npm start`) runs the first with
 * fewer ids, `DEMO_RECORDS=20000` the per-record runs with fewer records;
 * `DEMO_MAX_BYTES=100000` makes smaller requests.
 * Exits 0 only if every product is verified in the server's store, and the
 * second per-record run sent only the changed ones.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { PartialFailure } from "../src/cli/CliError.js"
import { printCause } from "../src/cli/ErrorOutput.js"
import { ExitCode, exitCodeOfCause } from "../src/cli/ExitCode.js"
import * as Progress from "../src/cli/Progress.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as Demo from "./Demo.js"
import * as Records from "./Records.js"

const ClientLive = MockVoucherifyServer.layerTest()

Effect.gen(function*() {
  const total = yield* Demo.parseCount("the id count (argument or DEMO_IDS)", process.argv[2] ?? process.env.DEMO_IDS)
  const maxBytes = yield* Demo.parseCount("DEMO_MAX_BYTES", process.env.DEMO_MAX_BYTES)
  const records = yield* Demo.parseCount("DEMO_RECORDS", process.env.DEMO_RECORDS)
  const progress = Progress.modeFor(false, process.stderr.isTTY)
  const result = yield* Effect.all([
    Demo.run({ total: Option.getOrElse(total, () => Demo.defaultCount), maxBytes: Option.getOrUndefined(maxBytes), progress }),
    Records.run({ total: Option.getOrElse(records, () => Records.defaultCount), maxBytes: Option.getOrUndefined(maxBytes), progress })
  ]).pipe(Effect.provide(ClientLive))
  if (!result.every((part) => part.ok)) {
    return yield* new PartialFailure({ message: "the store does not match: verification failed" })
  }
}).pipe(
  Effect.tapErrorCause(printCause),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? ExitCode.Success : exitCodeOfCause(exit.cause))
  })
)
