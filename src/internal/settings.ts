/**
 * The configuration but the app keys, as the environment gives it: what
 * `VoucherifyConfig.config` joins with the keys, and the CLI with its flags.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { Cluster, Options } from "../VoucherifyConfig.js"

/** The regional API clusters, as `VoucherifyConfig.Cluster` names them. */
export const clusters: ReadonlyArray<Cluster> = ["api", "us1.api", "as1.api"]

const optionalOf = <A>(config: Config.Config<A>) => Config.map(Config.option(config), Option.getOrUndefined)

/** The options but the credentials, with the OAuth scopes to use, if any. */
export interface Settings extends Omit<Options, "appId" | "appToken" | "auth"> {
  readonly oauthScopes?: ReadonlyArray<string> | undefined
}

/**
 * Everything `VoucherifyConfig.config` reads but the app keys: for the CLI,
 * which takes the keys from its flags too. `oauthScopes` is the list of
 * `VOUCHERIFY_OAUTH_SCOPES`, present only when it names any.
 */
export const settingsConfig: Config.Config<Settings> = Config.all({
  scopes: optionalOf(Config.string("VOUCHERIFY_OAUTH_SCOPES")),
  cluster: optionalOf(Config.literal(...clusters)("VOUCHERIFY_CLUSTER")),
  baseUrl: optionalOf(Config.string("VOUCHERIFY_BASE_URL")),
  apiVersion: optionalOf(Config.string("VOUCHERIFY_API_VERSION")),
  channel: optionalOf(Config.string("VOUCHERIFY_CHANNEL")),
  timeout: optionalOf(Config.duration("VOUCHERIFY_TIMEOUT")),
  maxRetries: optionalOf(Config.integer("VOUCHERIFY_MAX_RETRIES")),
  maxPayloadBytes: optionalOf(Config.integer("VOUCHERIFY_MAX_PAYLOAD_BYTES")),
  maxResponseBytes: optionalOf(Config.integer("VOUCHERIFY_MAX_RESPONSE_BYTES"))
}).pipe(
  Config.map(({ maxRetries, scopes, ...rest }) => {
    const oauthScopes = scopes?.split(/[\s,]+/).filter((s) => s.length > 0) ?? []
    return {
      ...rest,
      ...(oauthScopes.length > 0 ? { oauthScopes } : {}),
      ...(maxRetries !== undefined ? { retry: { maxRetries } } : {})
    }
  })
)

/**
 * The app keys with their settings: OAuth with those scopes when
 * `oauthScopes` names any, else the keys themselves.
 */
export const withCredentials = (
  settings: Settings,
  appId: string,
  appToken: Redacted.Redacted<string>
): Options => {
  const { oauthScopes, ...rest } = settings
  return {
    ...rest,
    ...(oauthScopes !== undefined ? { auth: { _tag: "OAuth", appId, appToken, scopes: oauthScopes } } : { appId, appToken })
  }
}
