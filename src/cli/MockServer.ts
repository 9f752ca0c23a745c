/**
 * What `mock-server` runs, loaded when it runs: the server with the
 * command's options, its address and keys printed, until interrupted.
 */
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as MockVoucherifyServer from "../testing/MockVoucherifyServer.js"
import { firstIssue } from "../testing/internal/schemas.js"
import type { InvalidRequestError } from "../VoucherifyError.js"
import { InputError } from "./CliError.js"
import type { Flags } from "./MockServerCommand.js"

const decodeFaults = Schema.decodeUnknownEither(Schema.parseJson(MockVoucherifyServer.Faults))

/** `--faults`: the one Faults schema, a failure told by its first issue rather than the whole tree. */
const parseFaults = (json: string) =>
  Either.mapLeft(decodeFaults(json), (error) => {
    const { path, reason } = firstIssue("", error.issue)
    return new InputError({ message: `--faults${path === "" ? "" : ` ${path}`}: ${reason}` })
  })

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

/** Serves until interrupted; a port that cannot be listened on, or an option that does not hold, is an input error. */
export const serve = (flags: Flags): Effect.Effect<never, InputError | InvalidRequestError> =>
  Effect.gen(function*() {
    const faults = Option.isSome(flags.faults) ? yield* parseFaults(flags.faults.value) : undefined
    return yield* Effect.zipRight(announce(flags.json), Effect.never).pipe(
      Effect.provide(MockVoucherifyServer.layer({
        port: Option.getOrUndefined(flags.port),
        host: Option.getOrUndefined(flags.host),
        appId: Option.getOrUndefined(flags.appId),
        appToken: Option.getOrUndefined(flags.appToken),
        processingDelay: Option.getOrUndefined(flags.processingDelay),
        maxPayloadBytes: Option.getOrUndefined(flags.maxPayloadBytes),
        rateLimits: {
          apiCallsPerMinute: Option.getOrUndefined(flags.apiPerMinute),
          bulkCallsPerMinute: Option.getOrUndefined(flags.bulkPerMinute),
          bulkCallsPerHour: Option.getOrUndefined(flags.bulkPerHour),
          bulkQuota: Option.getOrUndefined(flags.bulkQuota)
        },
        faults
      })),
      Effect.catchTag("ServeError", (error: ServeError) =>
        Effect.fail(
          new InputError({
            message: `cannot listen on ${Option.getOrElse(flags.host, () => "127.0.0.1")}:${
              Option.getOrElse(flags.port, () => 0)
            }: ${error.cause instanceof Error ? error.cause.message : String(error.cause)}`
          })
        ))
    )
  })
