/**
 * `async-action get <id>` and `async-action await <id>`: look up, or follow
 * to its end, an async action that a bulk run started.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { AsyncAction } from "../VoucherifySchema.js"
import * as Voucherify from "../Voucherify.js"
import * as AsyncActionView from "./AsyncActionView.js"
import type { ConfigurationError } from "./CliError.js"
import * as Connection from "./Connection.js"

const id = Args.text({ name: "id" }).pipe(Args.withDescription("The async action id, e.g. aa_0a875d56c805df6601"))
const json = Options.boolean("json").pipe(Options.withDescription("Print the action as JSON"))

const show = (action: AsyncAction, asJson: boolean) =>
  Console.log(asJson ? AsyncActionView.toJson(action) : AsyncActionView.toText(action))

const withVoucherify = <A, E>(
  flags: Connection.ConnectionOptions,
  use: (voucherify: Voucherify.Service) => Effect.Effect<A, E>
): Effect.Effect<A, E | ConfigurationError, HttpClient.HttpClient> =>
  Effect.flatMap(Connection.resolve(flags), (config) =>
    Effect.flatMap(Voucherify.Voucherify, use).pipe(Effect.provide(Connection.layer(config))))

const get = Command.make(
  "get",
  { id, json, ...Connection.options },
  ({ id, json, ...flags }) => withVoucherify(flags, (voucherify) => Effect.flatMap(voucherify.getAsyncAction(id), (a) => show(a, json)))
).pipe(Command.withDescription("Print an async action once"))

const await_ = Command.make(
  "await",
  { id, json, ...Connection.options },
  ({ id, json, ...flags }) =>
    withVoucherify(flags, (voucherify) =>
      voucherify.awaitAsyncAction(id).pipe(
        // A FAILED action is still worth seeing before the error line.
        Effect.tapErrorTag("AsyncActionFailedError", (error) => show(error.action, json)),
        Effect.flatMap((action) => show(action, json))
      ))
).pipe(Command.withDescription("Poll an async action until it is DONE or FAILED, then print it"))

export const command = Command.make("async-action").pipe(
  Command.withDescription("Look up the async actions that bulk updates start"),
  Command.withSubcommands([get, await_])
)
