/**
 * `async-action get <id>` and `async-action await <id>`: look up, or follow
 * to its end, an async action that a bulk run started.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
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
import { docsOf, flag } from "./Flag.js"
import type { CommandDoc } from "./Help.js"

const id = Args.text({ name: "id" }).pipe(Args.withDescription("The async action id, e.g. aa_0a875d56c805df6601"))
const json = flag("json", "Print the action as JSON")

const show = (action: AsyncAction, asJson: boolean) =>
  Console.log(asJson ? AsyncActionView.toJson(action) : AsyncActionView.toText(action))

const withVoucherify = <A, E>(
  flags: Connection.ConnectionOptions,
  use: (voucherify: Voucherify.Service) => Effect.Effect<A, E>
): Effect.Effect<A, E | ConfigurationError, HttpClient.HttpClient> =>
  Effect.flatMap(Connection.resolve(flags), (config) =>
    Effect.flatMap(Voucherify.Voucherify, use).pipe(Effect.provide(Connection.layer(config))))

const summaries = {
  get: "Print an async action once",
  await: "Poll async actions until each is DONE or FAILED, then print them",
  group: "Look up the async actions that bulk updates start"
}

/** The options of `get`, and of `await` (whose help the tests hold to them). */
export const getOptions = { json, ...Connection.options }

const get = Command.make(
  "get",
  { id, ...getOptions },
  ({ id, json, ...flags }) => withVoucherify(flags, (voucherify) => Effect.flatMap(voucherify.getAsyncAction(id), (a) => show(a, json)))
).pipe(Command.withDescription(summaries.get))

const ids = Args.text({ name: "id" }).pipe(
  Args.atLeast(1),
  Args.withDescription("The async action ids, e.g. aa_0a875d56c805df6601 (those a run's report lists)")
)

export const awaitOptions = {
  ids,
  json,
  awaitTimeout: BulkCommand.awaitTimeout("How long each action is followed before giving up on it"),
  ...Connection.options
}

/**
 * Follows every action at once, then prints them in the order given; a
 * FAILED action is printed too. The first failure, in that order, is the
 * command's.
 */
const await_ = Command.make(
  "await",
  awaitOptions,
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
).pipe(Command.withDescription(summaries.await))

export const command = Command.make("async-action").pipe(
  Command.withDescription(summaries.group),
  Command.withSubcommands([get, await_])
)

/** The help of `async-action` and its commands. */
export const doc: CommandDoc = {
  name: "async-action",
  summary: summaries.group,
  subcommands: [
    {
      name: "get",
      summary: summaries.get,
      usage: ["<id> [--json] [options]"],
      args: [{ name: "<id>", description: "The async action id, e.g. aa_0a875d56c805df6601" }],
      flags: docsOf(getOptions)
    },
    {
      name: "await",
      summary: summaries.await,
      usage: ["<id>... [--json] [--await-timeout <duration>] [options]"],
      args: [{ name: "<id>...", description: "The async action ids, e.g. aa_0a875d56c805df6601 (those a run's report lists)" }],
      flags: docsOf(awaitOptions)
    }
  ]
}
