/**
 * Credentials and endpoint: the `--app-id`, `--app-token`, `--cluster`,
 * `--base-url` options, their environment fallbacks, and the `Voucherify`
 * layer they configure. The token is read as `Redacted` and never printed.
 */
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Voucherify from "../Voucherify.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import { ConfigurationError } from "./CliError.js"

export const options = {
  appId: Options.text("app-id").pipe(
    Options.withPseudoName("id"),
    Options.withDescription("Application id (default: $VOUCHERIFY_APP_ID)"),
    Options.withFallbackConfig(Config.string("VOUCHERIFY_APP_ID")),
    Options.optional
  ),
  appToken: Options.redacted("app-token").pipe(
    Options.withPseudoName("token"),
    Options.withDescription("Application secret key (default: $VOUCHERIFY_APP_TOKEN); never printed"),
    Options.withFallbackConfig(Config.redacted("VOUCHERIFY_APP_TOKEN")),
    Options.optional
  ),
  // No fallback here: the library's configuration decodes VOUCHERIFY_CLUSTER,
  // and a bad value is then a configuration error (exit 3), not a usage error.
  cluster: Options.choice("cluster", VoucherifyConfig.clusters).pipe(
    Options.withDescription("API cluster: api (Europe), us1.api, as1.api (default: $VOUCHERIFY_CLUSTER, then api)"),
    Options.optional
  ),
  baseUrl: Options.text("base-url").pipe(
    Options.withPseudoName("url"),
    Options.withDescription("A dedicated API host, overrides --cluster (default: $VOUCHERIFY_BASE_URL)"),
    Options.withFallbackConfig(Config.string("VOUCHERIFY_BASE_URL")),
    Options.optional
  )
}

export interface ConnectionOptions {
  readonly appId: Option.Option<string>
  readonly appToken: Option.Option<Redacted.Redacted<string>>
  readonly cluster: Option.Option<VoucherifyConfig.Cluster>
  readonly baseUrl: Option.Option<string>
}

/** Where each configuration field comes from, for error messages. */
const origins: Readonly<Record<string, string>> = {
  appId: "--app-id / VOUCHERIFY_APP_ID",
  appToken: "--app-token / VOUCHERIFY_APP_TOKEN",
  cluster: "--cluster / VOUCHERIFY_CLUSTER",
  baseUrl: "--base-url / VOUCHERIFY_BASE_URL"
}

const toConfigurationError = (error: ConfigError.ConfigError) => {
  const field = ConfigError.isInvalidData(error) || ConfigError.isMissingData(error) ? error.path.join(".") : undefined
  const message = field === undefined
    ? String(error)
    : `${origins[field] ?? field}: ${error.message}`
  return new ConfigurationError({ message: `invalid configuration, ${message}` })
}

/** Where requests go and who makes them, when it is not the user's choice (`--mock`). */
export interface Endpoint {
  readonly baseUrl: string
  readonly appId: string
  readonly appToken: Redacted.Redacted<string>
}

/** The library's environment settings (`VOUCHERIFY_*` but the app keys, which are flags here), read once per command. */
export const environment: Effect.Effect<VoucherifyConfig.Settings, ConfigurationError> = Effect.mapError(
  VoucherifyConfig.settingsConfig,
  toConfigurationError
)

/**
 * The client options: the library's environment settings (timeouts,
 * retries, OAuth scopes included), overridden by the flags (which fall back
 * to their own variables), overridden by a fixed endpoint. Missing keys are
 * left for the library's config to name.
 */
export const apply = (
  env: VoucherifyConfig.Settings,
  flags: ConnectionOptions,
  endpoint?: Endpoint
): VoucherifyConfig.Options => {
  const appId = endpoint?.appId ?? Option.getOrUndefined(flags.appId)
  const appToken = endpoint?.appToken ?? Option.getOrUndefined(flags.appToken)
  const settings: VoucherifyConfig.Settings = {
    ...env,
    cluster: Option.getOrElse(flags.cluster, () => env.cluster),
    baseUrl: endpoint?.baseUrl ?? Option.getOrUndefined(flags.baseUrl)
  }
  if (appId !== undefined && appToken !== undefined) return VoucherifyConfig.withCredentials(settings, appId, appToken)
  const { oauthScopes: _, ...rest } = settings
  return { ...rest, appId, appToken }
}

/** {@link apply} to the environment configuration. */
export const resolve = (
  flags: ConnectionOptions,
  endpoint?: Endpoint
): Effect.Effect<VoucherifyConfig.Options, ConfigurationError> =>
  Effect.map(environment, (env) => apply(env, flags, endpoint))

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
        message: `invalid configuration, VOUCHERIFY_MAX_PAYLOAD_BYTES: ${
          ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "is not valid"
        }`
      })
    )
  )

/** `Voucherify` configured from checked options; a bad value is a {@link ConfigurationError}. */
export const layer = (
  config: VoucherifyConfig.Options
): Layer.Layer<Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigurationError, HttpClient.HttpClient> =>
  Voucherify.layer(config).pipe(Layer.mapError(toConfigurationError))
