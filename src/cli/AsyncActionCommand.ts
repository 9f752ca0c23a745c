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
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { AsyncAction } from "../VoucherifySchema.js"
import * as Voucherify from "../Voucherify.js"
import * as AsyncActionView from "./AsyncActionView.js"
import * as BulkCommand from "./BulkCommand.js"
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

const ids = Args.text({ name: "id" }).pipe(
  Args.atLeast(1),
  Args.withDescription("The async action ids, e.g. aa_0a875d56c805df6601 (those a run's report lists)")
)

/**
 * Follows every action at once, then prints them in the order given; a
 * FAILED action is printed too. The first failure, in that order, is the
 * command's.
 */
const await_ = Command.make(
  "await",
  {
    ids,
    json,
    awaitTimeout: BulkCommand.awaitTimeout("How long each action is followed before giving up on it (default 10m)"),
    ...Connection.options
  },
  ({ awaitTimeout, ids, json, ...flags }) =>
    withVoucherify(flags, (voucherify) =>
      Effect.gen(function*() {
        const options = Option.match(awaitTimeout, { onNone: () => undefined, onSome: (timeout) => ({ timeout }) })
        const outcomes = yield* Effect.forEach(ids, (id) => Effect.either(voucherify.awaitAsyncAction(id, options)), {
          concurrency: 8
        })
        // A FAILED action is still worth seeing before the error line.
        const shown = outcomes.flatMap((outcome) =>
          Either.isRight(outcome)
            ? [outcome.right]
            : outcome.left._tag === "AsyncActionFailedError"
            ? [outcome.left.action]
            : []
        )
        if (shown.length > 0) {
          yield* Console.log(
            json
              ? ids.length === 1 ? AsyncActionView.toJson(shown[0]!) : `[\n${shown.map(AsyncActionView.toJson).join(",\n")}\n]`
              : shown.map(AsyncActionView.toText).join("\n\n")
          )
        }
        const failures = outcomes.flatMap((outcome) => Either.isLeft(outcome) ? [outcome.left] : [])
        // every failure but the first is said here; the first is the command's own
        for (const error of failures.slice(1)) yield* Console.error(`error: ${error.message}`)
        if (failures.length > 0) return yield* Effect.fail(failures[0]!)
      }))
).pipe(Command.withDescription("Poll async actions until each is DONE or FAILED, then print them"))

export const command = Command.make("async-action").pipe(
  Command.withDescription("Look up the async actions that bulk updates start"),
  Command.withSubcommands([get, await_])
)
