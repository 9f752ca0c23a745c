/**
 * Puts credentials on a request: app keys, a bearer token the application
 * manages, or an OAuth token obtained with the app keys and cached until
 * shortly before it expires.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type { Auth, Service as ConfigService } from "../VoucherifyConfig.js"
import { ResponseDecodeError, TransportError, type VoucherifyError } from "../VoucherifyError.js"
import { OAuthToken } from "../VoucherifySchema.js"
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
  readonly refreshAtMillis: number
}

interface TokenState {
  readonly cached: CachedToken | undefined
  /** Token requests that ended so far: tells a waiter whether one ended while it waited. */
  readonly requests: number
  readonly lastFailure: VoucherifyError | undefined
}

const appKeyHeaders = (auth: { readonly appId: string; readonly appToken: Redacted.Redacted<string> }) =>
  HttpClientRequest.setHeaders({ "x-app-id": auth.appId, "x-app-token": Redacted.value(auth.appToken) })

const bearer = (token: Redacted.Redacted<string>) =>
  HttpClientRequest.setHeader("authorization", `Bearer ${Redacted.value(token)}`)

/** When to renew a token issued at `nowMillis`. */
const refreshAt = (body: typeof OAuthToken.Type, nowMillis: number): number => {
  // `expires_in` is relative, so a local clock that runs ahead of the
  // server's cannot make every token look stale (and burn the project's
  // 1000 tokens); `expires_at` is the fallback.
  const expiresAtMillis = body.expires_in !== undefined ? nowMillis + body.expires_in * 1000 : body.expires_at * 1000
  const lifetime = Math.max(0, expiresAtMillis - nowMillis)
  return expiresAtMillis - Math.min(Duration.toMillis(refreshMargin), lifetime / 2)
}

const makeOAuth = (
  config: ConfigService,
  auth: Extract<Auth, { _tag: "OAuth" }>,
  transport: HttpClient.HttpClient
) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<TokenState>({ cached: undefined, requests: 0, lastFailure: undefined })
    // One token request at a time: fifty calls that find no valid token share one.
    const lock = yield* Effect.makeSemaphore(1)
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
      const response = yield* transport.execute(request).pipe(
        Effect.mapError((error) =>
          new TransportError({ reason: "Transport", description: `POST /v1/oauth/token: ${error.message}` })
        )
      )
      const nowMillis = yield* Clock.currentTimeMillis
      if (response.status < 200 || response.status >= 300) {
        return yield* Effect.flip(ResponseError.fromResponse(response, {
          maxPayloadBytes: config.maxPayloadBytes,
          requestBytes: undefined,
          nowMillis,
          scrub
        }))
      }
      const body = yield* HttpClientResponse.schemaBodyJson(OAuthToken)(response).pipe(
        Effect.mapError(() =>
          new ResponseDecodeError({ status: response.status, description: "the OAuth token answer is not the documented JSON" })
        )
      )
      yield* Effect.sync(() => {
        issued.unshift(Redacted.value(body.access_token))
        issued.length = Math.min(issued.length, rememberedTokens)
      })
      return { token: body.access_token, refreshAtMillis: refreshAt(body, nowMillis) }
    }).pipe(
      // the whole exchange, body included: a token answer that stalls halfway must not hold every caller
      Effect.timeoutFail({
        duration: config.timeout,
        onTimeout: () => new TransportError({ reason: "Timeout", description: "POST /v1/oauth/token timed out" })
      }),
      Effect.withSpan("Voucherify.requestOAuthToken", { attributes: { "voucherify.scopes": auth.scopes.join(" ") } })
    )

    const isFresh = (cached: CachedToken | undefined, nowMillis: number): cached is CachedToken =>
      cached !== undefined && nowMillis < cached.refreshAtMillis

    const token = Effect.gen(function*() {
      const before = yield* Ref.get(state)
      if (isFresh(before.cached, yield* Clock.currentTimeMillis)) return before.cached
      return yield* lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* Ref.get(state)
        // Another fiber may have renewed it while this one waited for the lock.
        if (isFresh(now.cached, yield* Clock.currentTimeMillis)) return now.cached
        // Or failed to: share its failure rather than ask again at once, so
        // that fifty callers of a refused token request cost one request.
        if (now.requests !== before.requests && now.lastFailure !== undefined) return yield* Effect.fail(now.lastFailure)
        const exit = yield* Effect.exit(requestToken)
        yield* Ref.update(state, (s) =>
          exit._tag === "Success"
            ? { cached: exit.value, requests: s.requests + 1, lastFailure: undefined }
            : { ...s, requests: s.requests + 1, lastFailure: Option.getOrUndefined(Cause.failureOption(exit.cause)) })
        return yield* exit
      }))
    })

    // Drops the token only if it is still the cached one: after fifty calls
    // see a 401 with the same token, one renewal serves them all.
    const invalidate = (used: CachedToken) =>
      Ref.update(state, (s) => (s.cached === used ? { ...s, cached: undefined } : s))

    const authenticator: Authenticator = {
      authorize: (request) =>
        Effect.flatMap(token, (cached) => Effect.as(FiberRef.set(sentToken, cached), bearer(cached.token)(request))),
      retryUnauthorized: (attempt) =>
        Effect.catchTag(attempt, "UnauthorizedError", (error) =>
          Effect.flatMap(FiberRef.get(sentToken), (used) =>
            // No token was sent: the token request itself was refused, and
            // asking again with the same app keys would be refused too.
            used === undefined ? Effect.fail(error) : Effect.zipRight(invalidate(used), attempt))).pipe(
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
