/**
 * `effect-voucherify mock-server`: the mock Voucherify server until Ctrl-C,
 * for an installed user as for `npm run mock-server` (which runs this very
 * command). The options are defined here; the server is loaded only when the
 * command runs (`MockServer.ts`), so that `--help` stays quick.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { docsOf, document, flag, integer } from "./Flag.js"
import type { CommandDoc } from "./Help.js"

const count = (name: string, value: string, description: string, facts: { readonly default?: string } = {}) =>
  document(integer(name, 0).pipe(Options.optional), { flag: `--${name}`, value, type: "whole number", ...facts, description })

const text = (name: string, value: string, description: string, fallback: string) =>
  document(Options.text(name).pipe(Options.optional), { flag: `--${name}`, value, type: "text", default: fallback, description })

export const options = {
  port: count("port", "n", "Port to listen on (0: any free port)", { default: "0" }),
  host: text("host", "address", "Address to listen on", "127.0.0.1"),
  appId: text("app-id", "id", "The X-App-Id accepted", "mock-app-id"),
  appToken: document(Options.redacted("app-token").pipe(Options.optional), {
    flag: "--app-token",
    value: "token",
    type: "secret text",
    default: "mock-app-token",
    description: "The X-App-Token accepted"
  }),
  processingDelay: count("processing-delay", "ms", "Milliseconds each async action stays IN_PROGRESS", { default: "0" }),
  maxPayloadBytes: count("max-payload-bytes", "bytes", "The gateway's body limit", { default: "10485760" }),
  apiPerMinute: count("api-per-minute", "n", "api_calls quota per minute", { default: "none" }),
  bulkPerMinute: count("bulk-per-minute", "n", "bulk_api_calls quota per minute", { default: "none" }),
  bulkPerHour: count("bulk-per-hour", "n", "bulk_api_calls quota per hour", { default: "none" }),
  bulkQuota: document(
    Options.text("bulk-quota").pipe(
      Options.mapEffect((text) => {
        const match = text.match(/^(\d+)\/(\d+(?:\.\d+)?)$/)
        return match === null
          ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--bulk-quota must be <calls>/<seconds>, such as 8/2, got "${text}"`)))
          : Effect.succeed({ calls: Number(match[1]), window: Duration.seconds(Number(match[2])) })
      }),
      Options.optional
    ),
    {
      flag: "--bulk-quota",
      value: "calls/seconds",
      type: "calls/seconds",
      description: "A bulk_api_calls quota of any window, aligned like a clock hour: 8/2 is 8 calls per 2 seconds"
    }
  ),
  faults: document(Options.text("faults").pipe(Options.optional), {
    flag: "--faults",
    value: "json",
    type: "JSON",
    description: `Fault rules (durations in milliseconds, "seed" for a fixed draw): ` +
      `{"rules":[{"fault":{"_tag":"ServerError","status":503},"rate":0.1}]}`
  }),
  json: flag("json", `Print {"baseUrl","appId","appToken"} as the first line, for a program to read`)
}

export type Flags = Command.Command.ParseConfig<typeof options>

const summary = "Run the mock Voucherify server until Ctrl-C (no account needed)"

export const command = Command.make(
  "mock-server",
  options,
  (flags) => Effect.flatMap(Effect.promise(() => import("./MockServer.js")), (server) => server.serve(flags))
).pipe(Command.withDescription(summary))

export const doc: CommandDoc = {
  name: "mock-server",
  summary,
  usage: ["[options]"],
  details: [
    "The first lines printed say where it listens and which keys it takes (with --json, one JSON object instead). " +
    "In another terminal, export the VOUCHERIFY_* variables it prints and run the other commands against it."
  ],
  flags: docsOf(options),
  examples: ["--port 3000 --processing-delay 200 --bulk-per-hour 50"]
}
