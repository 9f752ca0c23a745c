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
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { isSecureTransport } from "./internal/credentialHosts.js"
import { version } from "./internal/version.js"

/**
 * The regional API clusters: `api` (Europe, the default), `us1.api`, `as1.api`.
 *
 * @since 0.1.0
 * @category models
 */
export type Cluster = "api" | "us1.api" | "as1.api"

/**
 * @since 0.1.0
 * @category constants
 */
export const clusters: ReadonlyArray<Cluster> = ["api", "us1.api", "as1.api"]

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
  maxPayloadBytes: 10_485_760
} as const

const invalid = (field: string, message: string) => ConfigError.InvalidData([field], message)

// Control characters would let a value break out of its header line.
const controlCharacters = /[\u0000-\u001f\u007f]/

const checkHeaderValue = (field: string, value: string | undefined, what: string) =>
  value === undefined || value === ""
    ? Effect.fail(invalid(field, `${what} is required and must not be empty`))
    : typeof value !== "string"
    ? Effect.fail(invalid(field, `${what} must be a string, got a ${typeof value}`))
    : controlCharacters.test(value)
    ? Effect.fail(invalid(field, `${what} must not contain control characters or line breaks`))
    : Effect.succeed(value)

const checkSecret = (field: string, value: Redacted.Redacted<string> | undefined, what: string) =>
  value === undefined
    ? Effect.fail(invalid(field, `${what} is required`))
    : !Redacted.isRedacted(value)
    ? Effect.fail(invalid(field, `${what} must be a Redacted value: wrap it with Redacted.make`))
    : Effect.as(checkHeaderValue(field, Redacted.value(value), what), value)

const checkBaseUrl = (raw: string) =>
  Effect.gen(function*() {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return yield* Effect.fail(invalid("baseUrl", `"${raw}" is not a URL`))
    }
    if (!isSecureTransport(url)) {
      return yield* Effect.fail(
        invalid("baseUrl", `must use https:// (plain http:// is allowed only on loopback), got ${url.protocol}//`)
      )
    }
    if (url.username !== "" || url.password !== "") {
      return yield* Effect.fail(invalid("baseUrl", "must not carry credentials; use appId and appToken"))
    }
    if (url.search !== "" || url.hash !== "") {
      return yield* Effect.fail(invalid("baseUrl", "must not have a query or a fragment"))
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`
  })

const checkDuration = (field: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
  if (input === undefined) return Effect.succeed(fallback)
  const decoded = Duration.decodeUnknown(input)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) && Duration.greaterThanOrEqualTo(decoded.value, Duration.zero)
    ? Effect.succeed(decoded.value)
    : Effect.fail(invalid(field, "must be a finite, non-negative duration"))
}

const checkInteger = (field: string, value: number | undefined, fallback: number, min: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isSafeInteger(value) && value >= min
    ? Effect.succeed(value)
    : Effect.fail(invalid(field, `must be an integer of at least ${min}, got ${value}`))

const checkAuth = (options: Options): Effect.Effect<Auth, ConfigError.ConfigError> => {
  const auth: Auth | undefined = options.auth ??
    (options.appId !== undefined || options.appToken !== undefined
      ? { _tag: "AppKeys", appId: options.appId ?? "", appToken: options.appToken ?? Redacted.make("") }
      : undefined)
  if (auth === undefined) {
    return Effect.fail(invalid("appId", "credentials are required: give appId and appToken, or auth"))
  }
  switch (auth._tag) {
    case "AppKeys":
      return Effect.zipWith(
        checkHeaderValue("appId", auth.appId, "appId"),
        checkSecret("appToken", auth.appToken, "appToken"),
        (appId, appToken) => ({ _tag: "AppKeys", appId, appToken })
      )
    case "OAuth":
      return Effect.gen(function*() {
        const appId = yield* checkHeaderValue("appId", auth.appId, "appId")
        const appToken = yield* checkSecret("appToken", auth.appToken, "appToken")
        if (auth.scopes.length === 0) return yield* Effect.fail(invalid("scopes", "name at least one OAuth scope"))
        for (const scope of auth.scopes) {
          if (!/^[a-z_-]+$/.test(scope)) {
            return yield* Effect.fail(invalid("scopes", `"${scope}" is not an OAuth scope name`))
          }
        }
        return { _tag: "OAuth", appId, appToken, scopes: auth.scopes } as const
      })
    case "BearerToken":
      return Effect.map(checkSecret("token", auth.token, "token"), (token) => ({ _tag: "BearerToken", token }))
    default:
      return Effect.fail(
        invalid("auth", `_tag must be "AppKeys", "OAuth" or "BearerToken", got ${String((auth as { _tag: unknown })._tag)}`)
      )
  }
}

/**
 * Checks options and fills in the defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const auth = yield* checkAuth(options)
    const cluster = options.cluster ?? defaults.cluster
    if (!clusters.includes(cluster)) {
      return yield* Effect.fail(invalid("cluster", `must be one of ${clusters.join(", ")}, got "${cluster}"`))
    }
    const baseUrl = yield* checkBaseUrl(options.baseUrl ?? `https://${cluster}.voucherify.io`)
    const apiVersion = yield* checkHeaderValue("apiVersion", options.apiVersion ?? defaults.apiVersion, "apiVersion")
    const channel = yield* checkHeaderValue("channel", options.channel ?? defaults.channel, "channel")
    const timeout = yield* checkDuration("timeout", options.timeout, defaults.timeout)
    if (Duration.isZero(timeout)) return yield* Effect.fail(invalid("timeout", "must be longer than zero"))
    const retry = options.retry ?? {}
    return {
      baseUrl,
      auth,
      apiVersion,
      channel,
      userAgent: `effect-voucherify/${version} (node)`,
      timeout,
      retry: {
        maxRetries: yield* checkInteger("retry.maxRetries", retry.maxRetries, defaults.maxRetries, 0),
        baseDelay: yield* checkDuration("retry.baseDelay", retry.baseDelay, defaults.baseDelay),
        maxDelay: yield* checkDuration("retry.maxDelay", retry.maxDelay, defaults.maxDelay),
        maxRetryAfter: yield* checkDuration("retry.maxRetryAfter", retry.maxRetryAfter, defaults.maxRetryAfter)
      },
      maxPayloadBytes: yield* checkInteger(
        "maxPayloadBytes",
        options.maxPayloadBytes,
        defaults.maxPayloadBytes,
        1
      )
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

const optionalOf = <A>(config: Config.Config<A>) => Config.map(Config.option(config), Option.getOrUndefined)

/**
 * The configuration read from the environment by {@link layerConfig}:
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
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  appId: optionalOf(Config.string("VOUCHERIFY_APP_ID")),
  appToken: optionalOf(Config.redacted("VOUCHERIFY_APP_TOKEN")),
  scopes: optionalOf(Config.string("VOUCHERIFY_OAUTH_SCOPES")),
  cluster: optionalOf(Config.literal(...clusters)("VOUCHERIFY_CLUSTER")),
  baseUrl: optionalOf(Config.string("VOUCHERIFY_BASE_URL")),
  apiVersion: optionalOf(Config.string("VOUCHERIFY_API_VERSION")),
  channel: optionalOf(Config.string("VOUCHERIFY_CHANNEL")),
  timeout: optionalOf(Config.duration("VOUCHERIFY_TIMEOUT")),
  maxRetries: optionalOf(Config.integer("VOUCHERIFY_MAX_RETRIES")),
  maxPayloadBytes: optionalOf(Config.integer("VOUCHERIFY_MAX_PAYLOAD_BYTES"))
}).pipe(
  Config.map(({ maxRetries, scopes, ...rest }): Options => {
    const scopeList = scopes?.split(/[\s,]+/).filter((s) => s.length > 0)
    return {
      ...rest,
      ...(scopeList !== undefined && scopeList.length > 0
        ? {
          auth: {
            _tag: "OAuth",
            appId: rest.appId ?? "",
            appToken: rest.appToken ?? Redacted.make(""),
            scopes: scopeList
          }
        }
        : {}),
      ...(maxRetries !== undefined ? { retry: { maxRetries } } : {})
    }
  })
)

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
