/**
 * Which URLs may receive the credentials. Voucherify hands out URLs of its
 * own (report files in `result.reports`), and a request to one of them
 * carries the app keys or the token: it may go only to the configured base
 * URL's origin or to the download host of the configured cluster, over https
 * (plain http on loopback only, the rule the base URL itself obeys).
 *
 * Such URLs carry a short-lived `?token=`: {@link displayUrl} renders one
 * for messages without its query, fragment or user info.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Cluster } from "../../VoucherifyConfig.js"

/** `localhost`, `[::1]` and 127.0.0.0/8, as `URL.hostname` spells them. */
export const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname)

/** https, or plain http to a loopback host. */
export const isSecureTransport = (url: URL): boolean =>
  url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))

/** Where each cluster serves its downloads. */
export const downloadHosts: Readonly<Record<Cluster, string>> = {
  "api": "download.voucherify.io",
  "us1.api": "us1.download.voucherify.io",
  "as1.api": "as1.download.voucherify.io"
}

const clusterOfOrigin = (origin: string): Cluster | undefined =>
  (Object.keys(downloadHosts) as Array<Cluster>).find((cluster) => origin === `https://${cluster}.voucherify.io`)

/**
 * The origins that may receive the credentials: the base URL's, and the
 * download host of `cluster`. Without `cluster`, the base URL names it when
 * it is a cluster's own API host (`https://us1.api.voucherify.io`); a
 * dedicated host or a proxy then trusts its own origin alone.
 */
export const credentialOrigins = (options: {
  readonly baseUrl: string
  readonly cluster?: Cluster | undefined
}): ReadonlyArray<string> => {
  const origin = new URL(options.baseUrl).origin
  const cluster = options.cluster ?? clusterOfOrigin(origin)
  const download = cluster === undefined ? undefined : `https://${downloadHosts[cluster]}`
  return download === undefined || download === origin ? [origin] : [origin, download]
}

/**
 * A URL, for a message: origin and path, without the user info, the query
 * (a `?token=` is a secret) or the fragment.
 */
export const displayUrl = (url: string | URL): string => {
  if (typeof url === "string") {
    if (!URL.canParse(url)) return url.replace(/[?#].*$/s, "").replace(/\/\/[^/]*@/, "//")
    url = new URL(url)
  }
  return url.origin === "null" ? `${url.protocol}${url.pathname}` : `${url.origin}${url.pathname}`
}

/**
 * A URL that gets no credentials, so no request at all. `url` is shown as
 * {@link displayUrl} renders it; `allowed` lists the origins that would do.
 */
export class UntrustedUrlError extends Schema.TaggedError<UntrustedUrlError>()("UntrustedUrlError", {
  url: Schema.String,
  reason: Schema.Literal("NotAUrl", "UserInfo", "Insecure", "Host"),
  allowed: Schema.Array(Schema.String)
}) {
  override get message(): string {
    switch (this.reason) {
      case "NotAUrl":
        return `"${this.url}" is not a URL`
      case "UserInfo":
        return `${this.url} carries a user name or password; the credentials are not sent with it`
      case "Insecure":
        return `${this.url} is not https (plain http is allowed only on loopback); the credentials are not sent over it`
      case "Host":
        return `${this.url} is not on a host that gets the credentials (${this.allowed.join(", ")})`
    }
  }
}

/** The URL, parsed, if a request to it may carry the credentials. */
export const checkUrl = (raw: string, allowed: ReadonlyArray<string>): Either.Either<URL, UntrustedUrlError> => {
  const refuse = (reason: UntrustedUrlError["reason"], url: string | URL = raw) =>
    Either.left(new UntrustedUrlError({ url: displayUrl(url), reason, allowed }))
  if (!URL.canParse(raw)) return refuse("NotAUrl")
  const url = new URL(raw)
  if (url.username !== "" || url.password !== "") return refuse("UserInfo", url)
  if (!isSecureTransport(url)) return refuse("Insecure", url)
  if (!allowed.includes(url.origin)) return refuse("Host", url)
  return Either.right(url)
}
