/**
 * Runs the mock Voucherify server until Ctrl-C:
 *
 * ```sh
 * npm run mock-server -- --port 3000 --processing-delay 200 --bulk-per-hour 50
 * ```
 *
 * The first line of output is `Mock Voucherify server listening on <url>`;
 * with `--json` it is one JSON object `{"baseUrl","appId","appToken"}`
 * instead, for a parent process (a benchmark) to read. `--help` lists the
 * options.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { version } from "../../internal/version.js"
import { firstIssue } from "../internal/schemas.js"
import type { InvalidRequestError } from "../../VoucherifyError.js"
import * as MockVoucherifyServer from "../MockVoucherifyServer.js"

const decodeFaults = Schema.decodeUnknownEither(Schema.parseJson(MockVoucherifyServer.Faults))

/** `--faults`: the one Faults schema, a failure told by its first issue rather than the whole tree. */
const parseFaults = (json: string) =>
  Either.mapLeft(decodeFaults(json), (error) => {
    const { path, reason } = firstIssue("", error.issue)
    return ValidationError.invalidValue(HelpDoc.p(`--faults${path === "" ? "" : ` ${path}`}: ${reason}`))
  })

/** An optional whole-number flag; its value is checked with the server's other options. */
const integer = (name: string, pseudoName: string, description: string) =>
  Options.integer(name).pipe(Options.withPseudoName(pseudoName), Options.withDescription(description), Options.optional)

const text = (name: string, pseudoName: string, description: string) =>
  Options.text(name).pipe(Options.withPseudoName(pseudoName), Options.withDescription(description), Options.optional)

const flags = {
  port: integer("port", "n", "Port to listen on; default 0 (any free port)"),
  host: text("host", "address", "Address to listen on; default 127.0.0.1"),
  appId: text("app-id", "id", "The X-App-Id accepted; default mock-app-id"),
  appToken: Options.redacted("app-token").pipe(
    Options.withPseudoName("token"),
    Options.withDescription("The X-App-Token accepted; default mock-app-token"),
    Options.optional
  ),
  processingDelay: integer("processing-delay", "ms", "Milliseconds each async action stays IN_PROGRESS; default 0"),
  maxPayloadBytes: integer("max-payload-bytes", "bytes", "The gateway's body limit; default 10485760"),
  apiPerMinute: integer("api-per-minute", "n", "api_calls quota per minute"),
  bulkPerMinute: integer("bulk-per-minute", "n", "bulk_api_calls quota per minute"),
  bulkPerHour: integer("bulk-per-hour", "n", "bulk_api_calls quota per hour"),
  bulkQuota: Options.text("bulk-quota").pipe(
    Options.withPseudoName("calls/seconds"),
    Options.withDescription("A bulk_api_calls quota of any window, aligned like a clock hour: 8/2 is 8 calls per 2 seconds"),
    Options.mapEffect((text) => {
      const match = text.match(/^(\d+)\/(\d+(?:\.\d+)?)$/)
      return match === null
        ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--bulk-quota must be <calls>/<seconds>, such as 8/2, got ${text}`)))
        : Effect.succeed({ calls: Number(match[1]), window: Duration.seconds(Number(match[2])) })
    }),
    Options.optional
  ),
  faults: Options.text("faults").pipe(
    Options.withPseudoName("json"),
    Options.mapEffect(parseFaults),
    Options.withDescription(
      `Fault rules as JSON, durations in milliseconds: {"seed":1,"rules":[{"fault":{"_tag":"ServerError","status":503},"rate":0.1}]}`
    ),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription(`Print {"baseUrl","appId","appToken"} as the first line`))
}

const announce = (json: boolean) =>
  Effect.gen(function*() {
    const server = yield* MockVoucherifyServer.MockVoucherifyServer
    const token = Redacted.value(server.appToken)
    if (json) {
      return yield* Console.log(JSON.stringify({ baseUrl: server.baseUrl, appId: server.appId, appToken: token }))
    }
    yield* Console.log(`Mock Voucherify server listening on ${server.baseUrl}`)
    yield* Console.log(`  X-App-Id:    ${server.appId}`)
    yield* Console.log(`  X-App-Token: ${token}`)
    yield* Console.log(
      `  export VOUCHERIFY_BASE_URL=${server.baseUrl} VOUCHERIFY_APP_ID=${server.appId} VOUCHERIFY_APP_TOKEN=${token}`
    )
    yield* Console.log("Press Ctrl-C to stop.")
  })

const command = Command.make("mock-server", flags, (flag) =>
  Effect.zipRight(announce(flag.json), Effect.never).pipe(
    Effect.provide(MockVoucherifyServer.layer({
      port: Option.getOrUndefined(flag.port),
      host: Option.getOrUndefined(flag.host),
      appId: Option.getOrUndefined(flag.appId),
      appToken: Option.getOrUndefined(flag.appToken),
      processingDelay: Option.getOrUndefined(flag.processingDelay),
      maxPayloadBytes: Option.getOrUndefined(flag.maxPayloadBytes),
      rateLimits: {
        apiCallsPerMinute: Option.getOrUndefined(flag.apiPerMinute),
        bulkCallsPerMinute: Option.getOrUndefined(flag.bulkPerMinute),
        bulkCallsPerHour: Option.getOrUndefined(flag.bulkPerHour),
        bulkQuota: Option.getOrUndefined(flag.bulkQuota)
      },
      faults: Option.getOrUndefined(flag.faults)
    }))
  )).pipe(Command.withDescription("The mock Voucherify server, until Ctrl-C"))

/** A bad flag, @effect/cli has printed; anything else is printed here, once, without a stack. */
const report = (cause: Cause.Cause<InvalidRequestError | ServeError | ValidationError.ValidationError>) =>
  Cause.isInterruptedOnly(cause) ? Effect.void : Option.match(Cause.failureOption(cause), {
    onNone: () => Console.error(Cause.pretty(cause)),
    onSome: (error) =>
      ValidationError.isValidationError(error)
        ? Effect.void
        : Console.error(error._tag === "ServeError" ? `Cannot listen: ${String(error.cause)}` : error.message)
  })

Command.run(command, { name: "mock-server", version })(process.argv).pipe(
  Effect.tapErrorCause(report),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
