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
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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
  /** Wraps an attempt: with OAuth, a 401 renews the token once and tries again. */
  readonly retryUnauthorized: <A, R>(attempt: Effect.Effect<A, VoucherifyError, R>) => Effect.Effect<A, VoucherifyError, R>
  /** The secret values in use, to scrub from anything a server echoes back. */
  readonly secrets: () => ReadonlyArray<string>
}

/** Renew an OAuth token this long before it expires. */
export const refreshMargin = Duration.seconds(60)

interface CachedToken {
  readonly token: Redacted.Redacted<string>
  readonly expiresAtMillis: number
}

const appKeyHeaders = (auth: { readonly appId: string; readonly appToken: Redacted.Redacted<string> }) =>
  HttpClientRequest.setHeaders({ "x-app-id": auth.appId, "x-app-token": Redacted.value(auth.appToken) })

const bearer = (token: Redacted.Redacted<string>) =>
  HttpClientRequest.setHeader("authorization", `Bearer ${Redacted.value(token)}`)

const makeOAuth = (
  config: ConfigService,
  auth: Extract<Auth, { _tag: "OAuth" }>,
  transport: HttpClient.HttpClient
) =>
  Effect.gen(function*() {
    const cache = yield* Ref.make<CachedToken | undefined>(undefined)
    // One token request at a time: fifty calls that find no valid token share one.
    const lock = yield* Effect.makeSemaphore(1)
    const secrets = () => [Redacted.value(auth.appToken)]
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
        ),
        Effect.timeoutFail({
          duration: config.timeout,
          onTimeout: () => new TransportError({ reason: "Timeout", description: "POST /v1/oauth/token timed out" })
        })
      )
      if (response.status < 200 || response.status >= 300) {
        return yield* Effect.flatMap(
          Clock.currentTimeMillis,
          (nowMillis) =>
            Effect.flip(
              ResponseError.fromResponse(response, {
                maxPayloadBytes: config.maxPayloadBytes,
                requestBytes: undefined,
                nowMillis,
                scrub
              })
            )
        )
      }
      const body = yield* HttpClientResponse.schemaBodyJson(OAuthToken)(response).pipe(
        Effect.mapError(() =>
          new ResponseDecodeError({ status: response.status, description: "the OAuth token answer is not the documented JSON" })
        )
      )
      return { token: body.access_token, expiresAtMillis: body.expires_at * 1000 }
    })

    const isFresh = (cached: CachedToken | undefined, nowMillis: number): cached is CachedToken =>
      cached !== undefined && nowMillis < cached.expiresAtMillis - Duration.toMillis(refreshMargin)

    const token = Effect.gen(function*() {
      const cached = yield* Ref.get(cache)
      if (isFresh(cached, yield* Clock.currentTimeMillis)) return cached.token
      return yield* lock.withPermits(1)(Effect.gen(function*() {
        // Another fiber may have renewed it while this one waited for the lock.
        const again = yield* Ref.get(cache)
        if (isFresh(again, yield* Clock.currentTimeMillis)) return again.token
        const fresh = yield* requestToken
        yield* Ref.set(cache, fresh)
        return fresh.token
      }))
    })

    const authenticator: Authenticator = {
      authorize: (request) => Effect.map(token, (t) => bearer(t)(request)),
      retryUnauthorized: (attempt) =>
        Effect.catchTag(attempt, "UnauthorizedError", () => Effect.zipRight(Ref.set(cache, undefined), attempt)),
      secrets: () => {
        const cached = Ref.get(cache).pipe(Effect.runSync)
        return cached ? [...secrets(), Redacted.value(cached.token)] : secrets()
      }
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
        retryUnauthorized: (attempt) => attempt,
        secrets: () => [Redacted.value(auth.token)]
      })
    case "OAuth":
      return makeOAuth(config, auth, transport)
  }
}
