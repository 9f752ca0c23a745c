/**
 * Runs the mock Voucherify server until Ctrl-C:
 *
 * ```sh
 * npm run mock-server -- --port 3000 --processing-delay 200 --bulk-per-hour 50
 * ```
 *
 * The first line of output is `Mock Voucherify server listening on <url>`;
 * with `--json` it is one JSON object `{"baseUrl","appId","appToken"}`
 * instead, for a parent process (a benchmark) to read.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { parseArgs } from "node:util"
import * as MockVoucherifyServer from "../MockVoucherifyServer.js"

const usage = `Usage: mock-server [options]
  --port <n>                 default 0 (any free port)
  --host <address>           default 127.0.0.1
  --app-id <id>              default mock-app-id
  --app-token <token>        default mock-app-token
  --processing-delay <ms>    how long each async action stays IN_PROGRESS, default 0
  --max-payload-bytes <n>    default 10485760
  --api-per-minute <n>       api_calls quota
  --bulk-per-minute <n>      bulk_api_calls quota per minute
  --bulk-per-hour <n>        bulk_api_calls quota per hour
  --faults <json>            {"seed":1,"rules":[{"fault":{"_tag":"ServerError","status":503},"rate":0.1}]}
  --json                     print {"baseUrl","appId","appToken"} as the first line
  --help`

const { values } = parseArgs({
  options: {
    "port": { type: "string" },
    "host": { type: "string" },
    "app-id": { type: "string" },
    "app-token": { type: "string" },
    "processing-delay": { type: "string" },
    "max-payload-bytes": { type: "string" },
    "api-per-minute": { type: "string" },
    "bulk-per-minute": { type: "string" },
    "bulk-per-hour": { type: "string" },
    "faults": { type: "string" },
    "json": { type: "boolean" },
    "help": { type: "boolean" }
  }
})

const Count = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())


/** The JSON form of `Faults`: durations in milliseconds, paths as exact strings. */
const FaultsJson = Schema.parseJson(Schema.Struct({
  seed: Schema.optional(Schema.Number),
  rules: Schema.Array(Schema.Struct({
    fault: Schema.Union(
      Schema.TaggedStruct("ServerError", {
        status: Schema.optional(Schema.Literal(500, 502, 503, 504)),
        body: Schema.optional(Schema.Literal("json", "gateway", "html", "empty"))
      }),
      Schema.TaggedStruct("RateLimited", {
        retryAfter: Schema.optional(Schema.Number),
        limitType: Schema.optional(Schema.Literal("api_calls", "bulk_api_calls", "api_calls_cycle"))
      }),
      Schema.TaggedStruct("ResetBeforeBody", {}),
      Schema.TaggedStruct("ResetAfterProcessing", {}),
      Schema.TaggedStruct("Delay", { duration: Schema.Number }),
      Schema.TaggedStruct("MalformedJson", {}),
      Schema.TaggedStruct("Redirect", {
        status: Schema.optional(Schema.Literal(301, 302, 307, 308)),
        location: Schema.optional(Schema.String)
      })
    ),
    rate: Schema.optional(Schema.Number),
    first: Schema.optional(Schema.Number),
    path: Schema.optional(Schema.String),
    method: Schema.optional(Schema.String)
  }))
}))

const count = (flag: keyof typeof values) => {
  const raw = values[flag]
  return typeof raw === "string" ? Schema.decodeSync(Count)(raw) : undefined
}

const program = Effect.gen(function*() {
  const server = yield* MockVoucherifyServer.MockVoucherifyServer
  const token = Redacted.value(server.appToken)
  if (values.json === true) {
    yield* Console.log(JSON.stringify({ baseUrl: server.baseUrl, appId: server.appId, appToken: token }))
  } else {
    yield* Console.log(`Mock Voucherify server listening on ${server.baseUrl}`)
    yield* Console.log(`  X-App-Id:    ${server.appId}`)
    yield* Console.log(`  X-App-Token: ${token}`)
    yield* Console.log(
      `  export VOUCHERIFY_BASE_URL=${server.baseUrl} VOUCHERIFY_APP_ID=${server.appId} VOUCHERIFY_APP_TOKEN=${token}`
    )
    yield* Console.log("Press Ctrl-C to stop.")
  }
  return yield* Effect.never
})

if (values.help === true) {
  console.log(usage)
} else {
  program.pipe(
    Effect.provide(MockVoucherifyServer.layer({
      port: count("port"),
      host: values.host,
      appId: values["app-id"],
      appToken: values["app-token"],
      processingDelay: count("processing-delay"),
      maxPayloadBytes: count("max-payload-bytes"),
      rateLimits: {
        apiCallsPerMinute: count("api-per-minute"),
        bulkCallsPerMinute: count("bulk-per-minute"),
        bulkCallsPerHour: count("bulk-per-hour")
      },
      faults: values.faults === undefined ? undefined : Schema.decodeSync(FaultsJson)(values.faults)
    })),
    NodeRuntime.runMain
  )
}
