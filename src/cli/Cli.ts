/**
 * The `effect-voucherify` command tree.
 */
import * as Command from "@effect/cli/Command"
import { version } from "../internal/version.js"
import * as AsyncActionCommand from "./AsyncActionCommand.js"
import * as BulkCommand from "./BulkCommand.js"

const root = Command.make("effect-voucherify").pipe(
  Command.withDescription("Bulk metadata updates for Voucherify products, customers and vouchers"),
  Command.withSubcommands([...BulkCommand.commands, AsyncActionCommand.command])
)

/** Runs the command line `argv` (as `process.argv`: runtime and script first). */
export const run = Command.run(root, { name: "effect-voucherify", version })
