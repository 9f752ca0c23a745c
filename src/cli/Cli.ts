/**
 * The `effect-voucherify` command tree.
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { version } from "../internal/version.js"
import * as AsyncActionCommand from "./AsyncActionCommand.js"
import * as BulkCommand from "./BulkCommand.js"
import * as RecordsCommand from "./RecordsCommand.js"

const root = Command.make("effect-voucherify").pipe(
  Command.withDescription("Bulk metadata and per-record updates for Voucherify products, customers and vouchers"),
  Command.withSubcommands([...BulkCommand.commands, ...RecordsCommand.commands, AsyncActionCommand.command])
)

/**
 * The HTTP client, given to the commands as they run: undici is the largest
 * part of the bundled `bin`, and `--help` and `--version` never load it.
 */
const HttpClientLive = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (module) => module.layerUndici)
)

/** Runs the command line `argv` (as `process.argv`: runtime and script first). */
export const run = Command.run(Command.provide(root, HttpClientLive), { name: "effect-voucherify", version })
