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
import type * as Redacted from "effect/Redacted"
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

/** The library's environment configuration (`VOUCHERIFY_*`), read once per command. */
export const environment: Effect.Effect<VoucherifyConfig.Options, ConfigurationError> = Effect.mapError(
  VoucherifyConfig.config,
  toConfigurationError
)

/**
 * The client options: the library's environment configuration (`VOUCHERIFY_*`,
 * timeouts and retries included), overridden by the flags (which fall back
 * to their own variables), overridden by a fixed endpoint.
 */
export const apply = (
  env: VoucherifyConfig.Options,
  flags: ConnectionOptions,
  endpoint?: Endpoint
): VoucherifyConfig.Options => {
  const appId = endpoint?.appId ?? Option.getOrUndefined(flags.appId)
  const appToken = endpoint?.appToken ?? Option.getOrUndefined(flags.appToken)
  return {
    ...env,
    appId,
    appToken,
    // OAuth (VOUCHERIFY_OAUTH_SCOPES) exchanges the same keys for tokens.
    ...(env.auth?._tag === "OAuth" && appId !== undefined && appToken !== undefined
      ? { auth: { ...env.auth, appId, appToken } }
      : {}),
    cluster: Option.getOrElse(flags.cluster, () => env.cluster),
    baseUrl: endpoint?.baseUrl ?? Option.getOrUndefined(flags.baseUrl)
  }
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
export const payloadLimit = (options: VoucherifyConfig.Options): Effect.Effect<number, ConfigurationError> => {
  const limit = options.maxPayloadBytes ?? VoucherifyConfig.defaults.maxPayloadBytes
  return Number.isSafeInteger(limit) && limit >= 1
    ? Effect.succeed(limit)
    : Effect.fail(
      new ConfigurationError({
        message: `invalid configuration, VOUCHERIFY_MAX_PAYLOAD_BYTES: must be a positive integer, got ${limit}`
      })
    )
}

/** `Voucherify` configured from checked options; a bad value is a {@link ConfigurationError}. */
export const layer = (
  config: VoucherifyConfig.Options
): Layer.Layer<Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigurationError, HttpClient.HttpClient> =>
  Voucherify.layer(config).pipe(Layer.mapError(toConfigurationError))
