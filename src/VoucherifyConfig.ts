/**
 * Everything the client needs to know to talk to a Voucherify project:
 * credentials, where the API lives, and the limits it works within.
 *
 * Build it from options with {@link layer}, or from `Config` (environment
 * variables by default) with {@link layerConfig}. Every value is checked
 * once, here: a bad value fails as a `ConfigError` naming the field, before
 * any request is made.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { displayUrl, isSecureTransport } from "./internal/http/credentialHosts.js"
import { FiniteDurationInput as DurationInput } from "./internal/durations.js"
import { defaultMaxPayloadBytes, defaultMaxResponseBytes, PayloadBytes } from "./internal/limits.js"
import { clusters, settingsConfig, withCredentials } from "./internal/settings.js"
import { version } from "./internal/version.js"

/**
 * The regional API clusters: `api` (Europe, the default), `us1.api`, `as1.api`.
 *
 * @since 0.1.0
 * @category models
 */
export type Cluster = "api" | "us1.api" | "as1.api"

/**
 * How requests authenticate.
 *
 * - `AppKeys`: `X-App-Id` and `X-App-Token` on every request.
 * - `OAuth`: the app keys obtain a short-lived token with the given scopes
 *   (client credentials); requests carry `Authorization: Bearer`.
 * - `BearerToken`: a token the application obtains and renews itself.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { VoucherifyConfig } from "effect-voucherify"
 *
 * // the token is cached, renewed 60 s before it expires, and renewed once after a 401
 * const ConfigLive = VoucherifyConfig.layer({
 *   auth: {
 *     _tag: "OAuth",
 *     appId: "my-app-id",
 *     appToken: Redacted.make("my-secret-token"),
 *     scopes: ["products", "async-actions"]
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Auth =
  | { readonly _tag: "AppKeys"; readonly appId: string; readonly appToken: Redacted.Redacted<string> }
  | {
    readonly _tag: "OAuth"
    readonly appId: string
    readonly appToken: Redacted.Redacted<string>
    readonly scopes: ReadonlyArray<string>
  }
  | { readonly _tag: "BearerToken"; readonly token: Redacted.Redacted<string> }

/**
 * When and how long to retry transient failures (transport errors, timeouts,
 * 408, 429, 500, 502, 503, 504).
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 5; 0 disables retrying. */
  readonly maxRetries?: number | undefined
  /** First backoff delay; it doubles each retry, with jitter. Default 500 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** Longest backoff delay. Default 30 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /**
   * The longest `Retry-After` (or `X-Rate-Limit-Retry`) worth waiting for.
   * A longer wait fails at once with a `RateLimitError` carrying it.
   * Default 60 s.
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * What {@link layer} and {@link make} accept. Give either `appId` and
 * `appToken`, or `auth`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly appId?: string | undefined
  readonly appToken?: Redacted.Redacted<string> | undefined
  readonly auth?: Auth | undefined
  /** Default `api`. Ignored when `baseUrl` is set. */
  readonly cluster?: Cluster | undefined
  /** A dedicated host or a proxy. Must be `https://`, except on loopback. */
  readonly baseUrl?: string | undefined
  /** Sent as `X-Voucherify-API-Version`. Default `v2018-08-01`. */
  readonly apiVersion?: string | undefined
  /** Sent as `X-Voucherify-Channel`, shown in the audit log. Default `effect-voucherify/<version>`. */
  readonly channel?: string | undefined
  /** Per-attempt timeout. Default 60 s. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: RetryOptions | undefined
  /** The largest body the API takes. Default 10485760 (10 MB). */
  readonly maxPayloadBytes?: number | undefined
  /**
   * The largest answer read from a bulk call or an async action (a few
   * hundred bytes each): a larger one is not read further and fails with a
   * `ResponseDecodeError` whose `limit` is this. Report files are streamed
   * and have no such limit. Default 1048576 (1 MiB).
   */
  readonly maxResponseBytes?: number | undefined
}

/**
 * The checked configuration the other services read.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Without a trailing slash, e.g. `https://api.voucherify.io`. */
  readonly baseUrl: string
  readonly auth: Auth
  readonly apiVersion: string
  readonly channel: string
  readonly userAgent: string
  readonly timeout: Duration.Duration
  readonly retry: {
    readonly maxRetries: number
    readonly baseDelay: Duration.Duration
    readonly maxDelay: Duration.Duration
    readonly maxRetryAfter: Duration.Duration
  }
  readonly maxPayloadBytes: number
  readonly maxResponseBytes: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export class VoucherifyConfig extends Context.Tag("effect-voucherify/VoucherifyConfig")<VoucherifyConfig, Service>() {}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  cluster: "api" as Cluster,
  apiVersion: "v2018-08-01",
  channel: `effect-voucherify/${version}`,
  timeout: Duration.seconds(60),
  maxRetries: 5,
  baseDelay: Duration.millis(500),
  maxDelay: Duration.seconds(30),
  maxRetryAfter: Duration.seconds(60),
  maxPayloadBytes: defaultMaxPayloadBytes,
  maxResponseBytes: defaultMaxResponseBytes
} as const

// Control characters would let a value break out of its header line.
const controlCharacters = /[\u0000-\u001f\u007f]/

/** A value sent in a header: not empty, on one line. */
const HeaderValue = Schema.String.pipe(
  Schema.filter((value) => value.length > 0 || "must not be empty"),
  Schema.filter((value) => !controlCharacters.test(value) || "must not contain control characters or line breaks")
)

/** A secret header value; the message never shows what was given. */
const Secret = Schema.RedactedFromSelf(HeaderValue).annotations({
  message: () => ({ message: "must be a Redacted value: wrap it with Redacted.make", override: false })
})

/** What is wrong with a base URL, if anything: only Voucherify's hosts get credentials, over https. */
const baseUrlProblem = (raw: string): string | undefined => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    // shown without a user, a password or a query: they may hold a secret
    return `"${displayUrl(raw)}" is not a URL`
  }
  if (!isSecureTransport(url)) {
    return `must use https:// (plain http:// is allowed only on loopback), got ${url.protocol}//`
  }
  if (url.username !== "" || url.password !== "") return "must not carry credentials; use appId and appToken"
  if (url.search !== "" || url.hash !== "") return "must not have a query or a fragment"
  return undefined
}

const BaseUrl = Schema.String.pipe(Schema.filter((raw) => baseUrlProblem(raw) ?? true))

const Count = (min: number) =>
  Schema.Number.pipe(Schema.filter((n) => (Number.isSafeInteger(n) && n >= min) || `must be an integer of at least ${min}, got ${n}`))

const AuthSchema: Schema.Schema<Auth> = Schema.Union(
  Schema.TaggedStruct("AppKeys", { appId: HeaderValue, appToken: Secret }),
  Schema.TaggedStruct("OAuth", {
    appId: HeaderValue,
    appToken: Secret,
    scopes: Schema.Array(
      Schema.String.pipe(Schema.filter((scope) => /^[a-z_-]+$/.test(scope) || `"${scope}" is not an OAuth scope name`))
    ).pipe(Schema.filter((scopes) => scopes.length > 0 || "name at least one OAuth scope"))
  }),
  Schema.TaggedStruct("BearerToken", { token: Secret })
)

/**
 * The schema of {@link Options}: every value's rule in one place. Both
 * {@link layer} and {@link layerConfig} decode through it, and its first
 * issue becomes the `ConfigError` naming the field.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Options: Schema.Schema<Options> = Schema.Struct({
  appId: Schema.optional(HeaderValue),
  appToken: Schema.optional(Secret),
  auth: Schema.optional(AuthSchema),
  cluster: Schema.optional(Schema.Literal(...clusters)),
  baseUrl: Schema.optional(BaseUrl),
  apiVersion: Schema.optional(HeaderValue),
  channel: Schema.optional(HeaderValue),
  timeout: Schema.optional(
    DurationInput.pipe(Schema.filter((input) => !Duration.isZero(Duration.decode(input)) || "must be longer than zero"))
  ),
  retry: Schema.optional(Schema.Struct({
    maxRetries: Schema.optional(Count(0)),
    baseDelay: Schema.optional(DurationInput),
    maxDelay: Schema.optional(DurationInput),
    maxRetryAfter: Schema.optional(DurationInput)
  })),
  maxPayloadBytes: Schema.optional(PayloadBytes),
  maxResponseBytes: Schema.optional(Count(1))
})

/** The first issue of a decode, as Config's error naming the field. */
const toConfigError = (error: ParseResult.ParseError): ConfigError.ConfigError => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return ConfigError.InvalidData(issue?.path.map(String) ?? [], issue?.message ?? "is not valid")
}

const credentials = (options: Options): Effect.Effect<Auth, ConfigError.ConfigError> => {
  if (options.auth !== undefined) return Effect.succeed(options.auth)
  const { appId, appToken } = options
  if (appId !== undefined && appToken !== undefined) return Effect.succeed({ _tag: "AppKeys", appId, appToken })
  return Effect.fail(
    appId === undefined && appToken === undefined
      ? ConfigError.InvalidData(["appId"], "credentials are required: give appId and appToken, or auth")
      : ConfigError.InvalidData([appId === undefined ? "appId" : "appToken"], "is required with the other app key")
  )
}

/**
 * Checks options (with the {@link Options} schema) and fills in the defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: Options): Effect.Effect<Service, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const options = yield* Effect.mapError(Schema.decode(Options)(input), toConfigError)
    const auth = yield* credentials(options)
    const baseUrl = new URL(options.baseUrl ?? `https://${options.cluster ?? defaults.cluster}.voucherify.io`)
    const retry = options.retry ?? {}
    return {
      baseUrl: `${baseUrl.origin}${baseUrl.pathname.replace(/\/+$/, "")}`,
      auth,
      apiVersion: options.apiVersion ?? defaults.apiVersion,
      channel: options.channel ?? defaults.channel,
      userAgent: `effect-voucherify/${version} (node)`,
      timeout: Duration.decode(options.timeout ?? defaults.timeout),
      retry: {
        maxRetries: retry.maxRetries ?? defaults.maxRetries,
        baseDelay: Duration.decode(retry.baseDelay ?? defaults.baseDelay),
        maxDelay: Duration.decode(retry.maxDelay ?? defaults.maxDelay),
        maxRetryAfter: Duration.decode(retry.maxRetryAfter ?? defaults.maxRetryAfter)
      },
      maxPayloadBytes: options.maxPayloadBytes ?? defaults.maxPayloadBytes,
      maxResponseBytes: options.maxResponseBytes ?? defaults.maxResponseBytes
    }
  })

/**
 * Provides {@link VoucherifyConfig} from options.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { VoucherifyConfig } from "effect-voucherify"
 *
 * const ConfigLive = VoucherifyConfig.layer({
 *   appId: "my-app-id",
 *   appToken: Redacted.make("my-secret-token"),
 *   cluster: "us1.api"
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<VoucherifyConfig, ConfigError.ConfigError> =>
  Layer.effect(VoucherifyConfig, make(options))

/**
 * The configuration read from the environment by {@link layerConfig}.
 * `VOUCHERIFY_APP_ID` and `VOUCHERIFY_APP_TOKEN` are required: a missing one
 * fails with Config's own "missing data" error naming the variable. Every
 * value then goes through the {@link Options} schema, as options do.
 *
 * | variable | meaning |
 * | --- | --- |
 * | `VOUCHERIFY_APP_ID` | application id |
 * | `VOUCHERIFY_APP_TOKEN` | application secret key (read as `Redacted`) |
 * | `VOUCHERIFY_CLUSTER` | `api` (default), `us1.api` or `as1.api` |
 * | `VOUCHERIFY_BASE_URL` | overrides the cluster |
 * | `VOUCHERIFY_OAUTH_SCOPES` | space- or comma-separated scopes: use OAuth |
 * | `VOUCHERIFY_API_VERSION`, `VOUCHERIFY_CHANNEL` | headers |
 * | `VOUCHERIFY_TIMEOUT` | per-attempt timeout, e.g. `30 seconds` |
 * | `VOUCHERIFY_MAX_RETRIES` | retries of a transient failure |
 * | `VOUCHERIFY_MAX_PAYLOAD_BYTES` | request size limit |
 * | `VOUCHERIFY_MAX_RESPONSE_BYTES` | answer size limit (bulk calls, async actions) |
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  appId: Config.string("VOUCHERIFY_APP_ID"),
  appToken: Config.redacted("VOUCHERIFY_APP_TOKEN"),
  settings: settingsConfig
}).pipe(Config.map(({ appId, appToken, settings }) => withCredentials(settings, appId, appToken)))

/**
 * Provides {@link VoucherifyConfig} from `Config`: by default the
 * environment variables of {@link config}, or any `Config` of {@link Options}
 * (a `Config.Wrap` too, to mix constants and variables).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { VoucherifyConfig } from "effect-voucherify"
 *
 * const ConfigLive = VoucherifyConfig.layerConfig({
 *   appId: Config.string("MY_APP_ID"),
 *   appToken: Config.redacted("MY_APP_TOKEN"),
 *   cluster: Config.succeed("as1.api")
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<Options> | Config.Config.Wrap<Options> = config
): Layer.Layer<VoucherifyConfig, ConfigError.ConfigError> =>
  Layer.effect(VoucherifyConfig, Effect.flatMap(Config.unwrap(options), make))
