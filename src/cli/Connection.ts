/**
 * Credentials and endpoint: the `--app-id`, `--app-token`, `--cluster`,
 * `--base-url` options, their environment fallbacks, and the `Voucherify`
 * layer they configure. The token is read as `Redacted` and never printed.
 * While a server cannot be reached and the requests are retried, the
 * command says so once.
 */
import * as Options from "@effect/cli/Options"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { codeOf, innermost, isNotConnected } from "../internal/http/connectFailure.js"
import * as Voucherify from "../Voucherify.js"
import * as Settings from "../internal/settings.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import { ConfigurationError } from "./CliError.js"
import { document } from "./Flag.js"
import * as Progress from "./Progress.js"

/** `--cluster`'s text, one of the clusters; the message names the option. */
const Cluster = Schema.Literal(...Settings.clusters).annotations({
  message: (issue) => ({
    message: `--cluster must be one of ${Settings.clusters.join(", ")}, got ${JSON.stringify(issue.actual)}`,
    override: true
  })
})

export const options = {
  appId: document(
    Options.text("app-id").pipe(Options.withFallbackConfig(Config.string("VOUCHERIFY_APP_ID")), Options.optional),
    { flag: "--app-id", value: "id", type: "text", env: "VOUCHERIFY_APP_ID", description: "Application id" }
  ),
  appToken: document(
    Options.redacted("app-token").pipe(Options.withFallbackConfig(Config.redacted("VOUCHERIFY_APP_TOKEN")), Options.optional),
    {
      flag: "--app-token",
      value: "token",
      type: "secret text",
      env: "VOUCHERIFY_APP_TOKEN",
      description: "Application secret key; never printed"
    }
  ),
  // No fallback here: the library's configuration decodes VOUCHERIFY_CLUSTER,
  // and a bad value is then a configuration error (exit 3), not a usage error.
  cluster: document(
    Options.text("cluster").pipe(Options.withSchema(Cluster), Options.optional),
    {
      flag: "--cluster",
      value: "name",
      type: Settings.clusters.join(" | "),
      default: "api",
      env: "VOUCHERIFY_CLUSTER",
      description: "API cluster: api (Europe), us1.api (United States), as1.api (Asia)"
    }
  ),
  baseUrl: document(
    Options.text("base-url").pipe(Options.withFallbackConfig(Config.string("VOUCHERIFY_BASE_URL")), Options.optional),
    {
      flag: "--base-url",
      value: "url",
      type: "https URL",
      env: "VOUCHERIFY_BASE_URL",
      description: "A dedicated API host; overrides --cluster"
    }
  )
}

export interface ConnectionOptions {
  readonly appId: Option.Option<string>
  readonly appToken: Option.Option<Redacted.Redacted<string>>
  readonly cluster: Option.Option<VoucherifyConfig.Cluster>
  readonly baseUrl: Option.Option<string>
}

/** Where each configuration field comes from, for error messages: the flag and its variable. */
const origins: Readonly<Record<string, string>> = {
  appId: "--app-id/VOUCHERIFY_APP_ID",
  appToken: "--app-token/VOUCHERIFY_APP_TOKEN",
  cluster: "--cluster/VOUCHERIFY_CLUSTER",
  baseUrl: "--base-url/VOUCHERIFY_BASE_URL"
}

const toConfigurationError = (error: ConfigError.ConfigError) => {
  const field = ConfigError.isInvalidData(error) || ConfigError.isMissingData(error) ? error.path.join(".") : undefined
  return new ConfigurationError({
    message: field === undefined ? `invalid configuration: ${String(error)}` : `invalid ${origins[field] ?? field}: ${error.message}`
  })
}

/** Where requests go and who makes them, when it is not the user's choice (`--mock`). */
export interface Endpoint {
  readonly baseUrl: string
  readonly appId: string
  readonly appToken: Redacted.Redacted<string>
}

/** The library's environment settings (`VOUCHERIFY_*` but the app keys, which are flags here), read once per command. */
export const environment: Effect.Effect<Settings.Settings, ConfigurationError> = Effect.mapError(
  Settings.settingsConfig,
  toConfigurationError
)

/**
 * The client options: the library's environment settings (timeouts,
 * retries, OAuth scopes included), overridden by the flags (which fall back
 * to their own variables), overridden by a fixed endpoint. Missing keys are
 * left for {@link checkCredentials} to name.
 */
export const apply = (
  env: Settings.Settings,
  flags: ConnectionOptions,
  endpoint?: Endpoint
): VoucherifyConfig.Options => {
  const appId = endpoint?.appId ?? Option.getOrUndefined(flags.appId)
  const appToken = endpoint?.appToken ?? Option.getOrUndefined(flags.appToken)
  const settings: Settings.Settings = {
    ...env,
    cluster: Option.getOrElse(flags.cluster, () => env.cluster),
    baseUrl: endpoint?.baseUrl ?? Option.getOrUndefined(flags.baseUrl)
  }
  if (appId !== undefined && appToken !== undefined) return Settings.withCredentials(settings, appId, appToken)
  const { oauthScopes: _, ...rest } = settings
  return { ...rest, appId, appToken }
}

/** Both app keys, or a message in the CLI's words (flags and variables) saying which is missing. */
export const checkCredentials = (config: VoucherifyConfig.Options): Effect.Effect<void, ConfigurationError> => {
  const hasId = config.appId !== undefined || config.auth !== undefined
  const hasToken = config.appToken !== undefined || config.auth !== undefined
  if (hasId && hasToken) return Effect.void
  if (!hasId && !hasToken) {
    return Effect.fail(
      new ConfigurationError({
        message: "no credentials: --app-id and --app-token are not given",
        hint: "give --app-id and --app-token, or set VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN"
      })
    )
  }
  const [missing, given] = hasId ? ["--app-token/VOUCHERIFY_APP_TOKEN", "--app-id"] : ["--app-id/VOUCHERIFY_APP_ID", "--app-token"]
  return Effect.fail(new ConfigurationError({ message: `${missing} is missing: it goes with ${given}` }))
}

/** {@link apply} to the environment configuration, with both app keys. */
export const resolve = (
  flags: ConnectionOptions,
  endpoint?: Endpoint
): Effect.Effect<VoucherifyConfig.Options, ConfigurationError> =>
  Effect.flatMap(environment, (env) => {
    const config = apply(env, flags, endpoint)
    return Effect.as(checkCredentials(config), config)
  })

/**
 * The largest request body the configured client accepts
 * (`VOUCHERIFY_MAX_PAYLOAD_BYTES`, default 10485760), checked as the client
 * checks it.
 */
export const payloadLimit = (
  options: Pick<VoucherifyConfig.Options, "maxPayloadBytes">
): Effect.Effect<number, ConfigurationError> =>
  Schema.decode(VoucherifyConfig.Options)({ maxPayloadBytes: options.maxPayloadBytes }).pipe(
    Effect.map((checked) => checked.maxPayloadBytes ?? VoucherifyConfig.defaults.maxPayloadBytes),
    Effect.mapError((error) =>
      new ConfigurationError({
        message: `invalid VOUCHERIFY_MAX_PAYLOAD_BYTES: ${
          ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "is not valid"
        }`
      })
    )
  )

/**
 * The longest the retries of a request can wait in all, in whole seconds:
 * each backoff at its most (the schedule's jitter adds up to a fifth), at
 * most the cap.
 */
export const retryWindowSeconds = (config: Pick<VoucherifyConfig.Options, "retry">): number => {
  const maxRetries = config.retry?.maxRetries ?? VoucherifyConfig.defaults.maxRetries
  const base = Duration.toMillis(config.retry?.baseDelay ?? VoucherifyConfig.defaults.baseDelay)
  const cap = Duration.toMillis(config.retry?.maxDelay ?? VoucherifyConfig.defaults.maxDelay)
  let total = 0
  for (let attempt = 0; attempt < maxRetries; attempt++) total += Math.min(base * 2 ** attempt * 1.2, cap)
  return Math.ceil(total / 1000)
}

/**
 * The transport, saying once on stderr that a server cannot be reached
 * while the client retries (`cannot reach https://…: retrying for up to
 * 19 s`), so that a wrong URL or a dead network is not a silent wait.
 */
export const announceUnreachable = (config: Pick<VoucherifyConfig.Options, "retry">) =>
(client: HttpClient.HttpClient): HttpClient.HttpClient => {
  const seconds = retryWindowSeconds(config)
  let said = false
  return HttpClient.tapError(client, (error) => {
    if (said || seconds === 0 || error._tag !== "RequestError" || !isNotConnected(codeOf(innermost(error.cause)))) {
      return Effect.void
    }
    said = true
    return Progress.notice(`cannot reach ${new URL(error.request.url).origin}: retrying for up to ${seconds} s`)
  })
}

/** `Voucherify` configured from checked options; a bad value is a {@link ConfigurationError}. */
export const layer = (
  config: VoucherifyConfig.Options
): Layer.Layer<Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigurationError, HttpClient.HttpClient> =>
  Voucherify.layer(config).pipe(
    Layer.mapError(toConfigurationError),
    Layer.provide(Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, announceUnreachable(config))))
  )
