/**
 * `VoucherifyHttpClient.make`: the platform client with Voucherify's base
 * URL, credentials, headers, timeout, retries and typed errors, and the
 * secrets it uses beside it.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"
import { VoucherifyConfig } from "../../VoucherifyConfig.js"
import { InvalidRequestError, TransportError, type VoucherifyError } from "../../VoucherifyError.js"
import type { Service } from "../../VoucherifyHttpClient.js"
import { makeAuthenticator } from "./auth.js"
import { codeOf, innermost, isNotConnected } from "./connectFailure.js"
import { checkUrl, credentialOrigins } from "./credentialHosts.js"
import * as ErrorRules from "./errorRules.js"
import { withoutRedirects } from "./noRedirects.js"
import * as ResponseError from "./responseError.js"
import * as RetryPolicy from "./retryPolicy.js"
import * as Secrets from "./secrets.js"

/** Header names whose values never reach a span, a log or an error, beside the platform's defaults. */
const redactedHeaderNames: ReadonlyArray<string> = ["x-app-token", "authorization"]

const toTransportError = (error: HttpClientError.HttpClientError): TransportError => {
  // Only the message: a platform error also holds the request, headers included.
  const inner = innermost(error.cause)
  const message = inner instanceof Error ? inner.message : String(inner)
  const code = codeOf(inner)
  return new TransportError({
    reason: isNotConnected(code) ? "Connect" : "Transport",
    description: `${error.request.method} ${new URL(error.request.url).pathname}: ${message}${
      code !== undefined ? ` (${code})` : ""
    }`
  })
}

const requestBytes = (request: HttpClientRequest.HttpClientRequest): number | undefined =>
  request.body._tag === "Uint8Array" ? request.body.body.byteLength : undefined

export const make: Effect.Effect<Service, never, VoucherifyConfig | HttpClient.HttpClient> = Effect.gen(function*() {
  const config = yield* VoucherifyConfig
  const transport = yield* HttpClient.HttpClient
  const authenticator = yield* makeAuthenticator(config, transport)
  const secrets = authenticator.secrets

  const fixedHeaders = Headers.fromInput({
    "accept": "application/json",
    "user-agent": config.userAgent,
    "x-voucherify-api-version": config.apiVersion,
    "x-voucherify-channel": config.channel
  })

  /** One attempt: send, wait at most `timeout`, map any failure to a typed error. */
  const attempt = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const authorized = yield* authenticator.authorize(request)
      const requestSecrets = yield* FiberRef.get(Secrets.requestSecrets)
      const response: HttpClientResponse.HttpClientResponse = yield* transport.execute(authorized).pipe(
        Effect.mapError(toTransportError),
        Effect.timeoutFail({
          duration: config.timeout,
          onTimeout: () =>
            new TransportError({
              reason: "Timeout",
              description: `${request.method} ${new URL(request.url).pathname} took longer than the timeout`
            })
        })
      )
      if (response.status >= 200 && response.status < 300) return response
      const error = yield* ResponseError.fromResponse(response, {
        maxPayloadBytes: config.maxPayloadBytes,
        maxResponseBytes: config.maxResponseBytes,
        requestBytes: requestBytes(request),
        nowMillis: yield* Clock.currentTimeMillis,
        // the client's secrets, and the request's own (a report's token)
        scrub: Secrets.scrubber(() => [...secrets(), ...requestSecrets])
      })
      return yield* Effect.fail(error)
    }).pipe(
      // a 401 with a cached OAuth token: renew it once and try again
      authenticator.retryUnauthorized
    )

  const send = (request: HttpClientRequest.HttpClientRequest) =>
    attempt(request).pipe(
      Effect.retry({
        schedule: RetryPolicy.schedule(config.retry),
        while: ErrorRules.isRetryable(config.retry.maxRetryAfter)
      }),
      withoutRedirects,
      Effect.locally(HttpClient.currentTracerPropagation, false),
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...redactedHeaderNames])
    )

  // An absolute URL (a report file) gets the credentials only on Voucherify's own hosts.
  const allowedOrigins = credentialOrigins({ baseUrl: config.baseUrl })
  const locate = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<HttpClientRequest.HttpClientRequest, VoucherifyError> => {
    if (request.url.startsWith("/")) return Effect.succeed(HttpClientRequest.prependUrl(request, config.baseUrl))
    return Either.match(checkUrl(request.url, allowedOrigins), {
      onLeft: (refused) => Effect.fail(new InvalidRequestError({ path: "url", reason: refused.message })),
      onRight: () => Effect.succeed(request)
    })
  }

  return {
    client: HttpClient.makeWith(
      (request: Effect.Effect<HttpClientRequest.HttpClientRequest, VoucherifyError>) => Effect.flatMap(request, send),
      (request) => Effect.map(locate(request), HttpClientRequest.setHeaders(fixedHeaders))
    ),
    // read at each answer: an OAuth token obtained since is among them
    secrets: Effect.sync(() => secrets().map((secret) => Redacted.make(secret)))
  }
})
