/**
 * The platform `HttpClient`, configured for Voucherify: base URL,
 * authentication and identification headers, a per-attempt timeout, retries
 * of transient failures that honour `Retry-After`, and every non-2xx answer
 * turned into a typed {@link VoucherifyError}. The application chooses the
 * transport (`NodeHttpClient.layerUndici`, `FetchHttpClient.layer`, ...).
 *
 * The service holds the client and the secrets it sends (an OAuth token
 * obtained at run time too), which `Voucherify` scrubs from every answer. To
 * wrap the client (a header, a log), map it and keep the rest of the service, in
 * `Layer.effect(VoucherifyHttpClient, Effect.map(VoucherifyHttpClient, (s) => ({ ...s, client: HttpClient.mapRequest(s.client, f) })))`.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as internal from "./internal/http/client.js"
import type { VoucherifyConfig } from "./VoucherifyConfig.js"
import type { VoucherifyError } from "./VoucherifyError.js"

/**
 * The client, whose failures are {@link VoucherifyError}s (a response it
 * returns always has a 2xx status), and the secrets in use.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly client: HttpClient.HttpClient.With<VoucherifyError>
  /**
   * The secrets the client sends, as they are now: kept out of whatever an
   * answer echoes. A wrapper that adds a secret of its own appends it here.
   */
  readonly secrets: Effect.Effect<ReadonlyArray<Redacted.Redacted<string>>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class VoucherifyHttpClient extends Context.Tag("effect-voucherify/VoucherifyHttpClient")<
  VoucherifyHttpClient,
  Service
>() {}

/**
 * Builds the client from {@link VoucherifyConfig} and the application's
 * `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, VoucherifyConfig | HttpClient.HttpClient> = internal.make

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
