/**
 * The platform `HttpClient`, configured for Voucherify: base URL,
 * authentication and identification headers, a per-attempt timeout, retries
 * of transient failures that honour `Retry-After`, and every non-2xx answer
 * turned into a typed {@link VoucherifyError}.
 *
 * The application chooses the transport by providing `HttpClient.HttpClient`
 * (`NodeHttpClient.layerUndici`, `FetchHttpClient.layer`, ...); this module
 * never picks one.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import { makeAuthenticator } from "./internal/http/auth.js"
import { checkUrl, credentialOrigins } from "./internal/http/credentialHosts.js"
import * as ErrorRules from "./internal/http/errorRules.js"
import { withoutRedirects } from "./internal/http/noRedirects.js"
import * as ResponseError from "./internal/http/responseError.js"
import { codeOf, innermost, isNotConnected } from "./internal/http/connectFailure.js"
import * as RetryPolicy from "./internal/http/retryPolicy.js"
import * as Secrets from "./internal/http/secrets.js"
import { VoucherifyConfig } from "./VoucherifyConfig.js"
import { InvalidRequestError, TransportError, type VoucherifyError } from "./VoucherifyError.js"

/**
 * An `HttpClient` whose failures are {@link VoucherifyError}s: a response it
 * returns always has a 2xx status.
 *
 * @since 0.1.0
 * @category models
 */
export type Service = HttpClient.HttpClient.With<VoucherifyError>

/**
 * @since 0.1.0
 * @category tags
 */
export class VoucherifyHttpClient extends Context.Tag("effect-voucherify/VoucherifyHttpClient")<
  VoucherifyHttpClient,
  Service
>() {}

/**
 * Header names whose values never reach a span, a log or an error: the
 * platform's defaults plus Voucherify's `X-App-Token`.
 *
 * @since 0.1.0
 * @category constants
 */
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

/**
 * Builds the client from {@link VoucherifyConfig} and the application's
 * `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
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

  // the secrets in use, for `Voucherify` to scrub from the answers it decodes
  return Secrets.register(
    HttpClient.makeWith(
      (request: Effect.Effect<HttpClientRequest.HttpClientRequest, VoucherifyError>) => Effect.flatMap(request, send),
      (request) => Effect.map(locate(request), HttpClientRequest.setHeaders(fixedHeaders))
    ),
    secrets
  )
})

/**
 * Provides {@link VoucherifyHttpClient}; requires {@link VoucherifyConfig}
 * and the application's `HttpClient.HttpClient`.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { VoucherifyConfig, VoucherifyHttpClient } from "effect-voucherify"
 *
 * const HttpLive = VoucherifyHttpClient.layer.pipe(
 *   Layer.provide(VoucherifyConfig.layerConfig()),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<VoucherifyHttpClient, never, VoucherifyConfig | HttpClient.HttpClient> = Layer.effect(
  VoucherifyHttpClient,
  make
)
