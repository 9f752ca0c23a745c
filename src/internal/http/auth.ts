/**
 * Puts credentials on a request: app keys, a bearer token the application
 * manages, or an OAuth token obtained with the app keys and cached until
 * shortly before it expires.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Cache from "effect/Cache"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Auth, Service as ConfigService } from "../../VoucherifyConfig.js"
import { ResponseDecodeError, TransportError, type VoucherifyError } from "../../VoucherifyError.js"
import { readJson } from "./boundedBody.js"
import { OAuthToken } from "./wire.js"
import { withoutRedirects } from "./noRedirects.js"
import * as ResponseError from "./responseError.js"

export interface Authenticator {
  /** Adds the credentials to one attempt. */
  readonly authorize: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientRequest.HttpClientRequest, VoucherifyError>
  /**
   * Wraps an attempt (which calls `authorize`): with OAuth, a 401 to a
   * request that carried a token renews the token once and tries again.
   */
  readonly retryUnauthorized: <A, R>(attempt: Effect.Effect<A, VoucherifyError, R>) => Effect.Effect<A, VoucherifyError, R>
  /** The secret values in use, to scrub from anything a server echoes back. */
  readonly secrets: () => ReadonlyArray<string>
}

/**
 * Renew an OAuth token this long before it expires, so that a request
 * never leaves with a token that dies on the way. For tokens that live
 * less than twice this long, half their lifetime is used instead.
 */
export const refreshMargin = Duration.seconds(60)

/** Tokens a server might still echo back after they were replaced. */
const rememberedTokens = 4

interface CachedToken {
  readonly token: Redacted.Redacted<string>
  /** How long the cache keeps the token, from the moment it arrived. */
  readonly timeToLive: Duration.Duration
}

const appKeyHeaders = (auth: { readonly appId: string; readonly appToken: Redacted.Redacted<string> }) =>
  HttpClientRequest.setHeaders({ "x-app-id": auth.appId, "x-app-token": Redacted.value(auth.appToken) })

const bearer = (token: Redacted.Redacted<string>) =>
  HttpClientRequest.setHeader("authorization", `Bearer ${Redacted.value(token)}`)

/** How long to use a token that arrived at `nowMillis`. */
const timeToLive = (body: typeof OAuthToken.Type, nowMillis: number): Duration.Duration => {
  // `expires_in` is relative, so a local clock that runs ahead of the
  // server's cannot make every token look stale (and burn the project's
  // 1000 tokens); `expires_at` is the fallback.
  const lifetime = Math.max(0, body.expires_in !== undefined ? body.expires_in * 1000 : body.expires_at * 1000 - nowMillis)
  // `Cache` keeps an entry while now <= arrival + ttl: one millisecond less
  // renews the token from the very moment the margin begins.
  return Duration.millis(lifetime - Math.min(Duration.toMillis(refreshMargin), lifetime / 2) - 1)
}

const makeOAuth = (
  config: ConfigService,
  auth: Extract<Auth, { _tag: "OAuth" }>,
  transport: HttpClient.HttpClient
) =>
  Effect.gen(function*() {
    // The token the current attempt sent, so that a 401 invalidates that
    // token only, and a refused token request is told apart from a refused call.
    const sentToken = yield* Effect.sync(() => FiberRef.unsafeMake<CachedToken | undefined>(undefined))
    const issued: Array<string> = []
    const scrub = (text: string) => text.split(Redacted.value(auth.appToken)).join("<redacted>")

    const requestToken = Effect.gen(function*() {
      const request = HttpClientRequest.post(`${config.baseUrl}/v1/oauth/token`).pipe(
        HttpClientRequest.setHeaders({
          "accept": "application/json",
          "user-agent": config.userAgent,
          "x-voucherify-channel": config.channel
        }),
        appKeyHeaders(auth),
        HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials", scope: auth.scopes.join(" ") })
      )
      // the token request runs as the cache's lookup, outside the calling request's own settings
      const response = yield* transport.execute(request).pipe(
        withoutRedirects,
        Effect.mapError((error) =>
          new TransportError({ reason: "Transport", description: `POST /v1/oauth/token: ${error.message}` })
        )
      )
      if (response.status < 200 || response.status >= 300) {
        return yield* Effect.flip(ResponseError.fromResponse(response, {
          maxPayloadBytes: config.maxPayloadBytes,
          maxResponseBytes: config.maxResponseBytes,
          requestBytes: undefined,
          nowMillis: yield* Clock.currentTimeMillis,
          scrub
        }))
      }
      const body = yield* readJson(response, config.maxResponseBytes).pipe(
        Effect.flatMap(Schema.decodeUnknown(OAuthToken)),
        Effect.mapError((error) =>
          error._tag === "ResponseDecodeError" && error.limit !== undefined
            ? error
            : new ResponseDecodeError({ status: response.status, description: "the OAuth token answer is not the documented JSON" })
        )
      )
      yield* Effect.sync(() => {
        issued.unshift(Redacted.value(body.access_token))
        issued.length = Math.min(issued.length, rememberedTokens)
      })
      return { token: body.access_token, timeToLive: timeToLive(body, yield* Clock.currentTimeMillis) }
    }).pipe(
      // the whole exchange, body included: a token answer that stalls halfway must not hold every caller
      Effect.timeoutFail({
        duration: config.timeout,
        onTimeout: () => new TransportError({ reason: "Timeout", description: "POST /v1/oauth/token timed out" })
      }),
      Effect.withSpan("Voucherify.requestOAuthToken", { attributes: { "voucherify.scopes": auth.scopes.join(" ") } })
    )

    // One entry, one lookup in flight at a time: fifty callers that find no
    // valid token share one token request, and its failure. A failure is
    // kept as a value (`Left`) only so that `invalidateWhen` can drop it at
    // once: the next caller asks again.
    const cache = yield* Cache.makeWith({
      capacity: 1,
      lookup: (_: void) => Effect.either(requestToken),
      timeToLive: (exit) => Exit.isSuccess(exit) && Either.isRight(exit.value) ? exit.value.right.timeToLive : 0
    })

    const token: Effect.Effect<CachedToken, VoucherifyError> = cache.get(undefined).pipe(
      Effect.flatMap(Either.match({
        onRight: Effect.succeed,
        onLeft: (error) => Effect.zipRight(cache.invalidateWhen(undefined, Either.isLeft), Effect.fail(error))
      })),
      // The token request runs in the fiber that started it: if that fiber is
      // interrupted, its waiters see the interruption, and ask again themselves.
      Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? token : Effect.failCause(cause))
    )

    // Downloads (report files) live on the cluster's download host, which takes the app keys, not a token.
    const apiOrigin = new URL(config.baseUrl).origin
    const authenticator: Authenticator = {
      authorize: (request) =>
        new URL(request.url).origin !== apiOrigin
          ? Effect.succeed(appKeyHeaders(auth)(request))
          : Effect.flatMap(token, (cached) => Effect.as(FiberRef.set(sentToken, cached), bearer(cached.token)(request))),
      retryUnauthorized: (attempt) =>
        Effect.catchTag(attempt, "UnauthorizedError", (error) =>
          Effect.flatMap(FiberRef.get(sentToken), (used) =>
            // No token was sent: the token request itself was refused, and
            // asking again with the same app keys would be refused too.
            used === undefined ? Effect.fail(error) : Effect.zipRight(
              // only if it is still the cached one: after fifty calls see a
              // 401 with the same token, one renewal serves them all
              cache.invalidateWhen(undefined, (cached) => Either.isRight(cached) && cached.right === used),
              attempt
            ))).pipe(
            Effect.locally(sentToken, undefined)
          ),
      secrets: () => [Redacted.value(auth.appToken), ...issued]
    }
    return authenticator
  })

export const makeAuthenticator = (
  config: ConfigService,
  transport: HttpClient.HttpClient
): Effect.Effect<Authenticator> => {
  const auth = config.auth
  switch (auth._tag) {
    case "AppKeys":
      return Effect.succeed({
        authorize: (request) => Effect.succeed(appKeyHeaders(auth)(request)),
        retryUnauthorized: (attempt) => attempt,
        secrets: () => [Redacted.value(auth.appToken)]
      })
    case "BearerToken":
      return Effect.succeed({
        authorize: (request) => Effect.succeed(bearer(auth.token)(request)),
        // The application renews this token; there is nothing to refresh here.
        retryUnauthorized: (attempt) => attempt,
        secrets: () => [Redacted.value(auth.token)]
      })
    case "OAuth":
      return makeOAuth(config, auth, transport)
  }
}
