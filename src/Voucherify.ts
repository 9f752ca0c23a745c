/**
 * The typed Voucherify endpoints: the three bulk metadata updates, the three
 * per-record bulk updates, and the async actions they start.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { Voucherify } from "effect-voucherify"
 *
 * const program = Effect.gen(function*() {
 *   const voucherify = yield* Voucherify.Voucherify
 *   const { async_action_id } = yield* voucherify.updateProductsMetadataInBulk({
 *     source_ids: ["123-567-3433", "test_volleyball"],
 *     metadata: { label: true, origin: "PL" }
 *   })
 *   return yield* voucherify.awaitAsyncAction(async_action_id)
 * })
 *
 * program.pipe(
 *   Effect.provide(Voucherify.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici)))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import type { EncodedBulkRequest } from "./internal/bulk/payload.js"
import * as internal from "./internal/voucherify.js"
import * as VoucherifyConfig from "./VoucherifyConfig.js"
import type { AsyncActionFailedError, AsyncActionTimeoutError, ReportError, VoucherifyError } from "./VoucherifyError.js"
import * as VoucherifyHttpClient from "./VoucherifyHttpClient.js"
import type {
  AsyncAction,
  AsyncActionList,
  BulkAccepted,
  BulkRecord,
  SourceIdsMetadataUpdateRequest,
  VouchersMetadataUpdateInBulkRequest
} from "./VoucherifySchema.js"

/**
 * How {@link Service.awaitAsyncAction} polls.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { Voucherify } from "effect-voucherify"
 *
 * // every 5 seconds, for at most 2 minutes
 * const awaitQuickly = (id: string) =>
 *   Effect.flatMap(Voucherify.Voucherify, (voucherify) =>
 *     voucherify.awaitAsyncAction(id, { schedule: Schedule.spaced("5 seconds"), timeout: "2 minutes" }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AwaitOptions {
  /** Delays between polls. Default: about 1 s, growing ×1.5 with jitter up to 30 s. */
  readonly schedule?: Schedule.Schedule<unknown, AsyncAction> | undefined
  /** Give up (the action goes on) after this long. Default 10 minutes. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Why {@link Service.awaitAsyncAction} can fail.
 *
 * @since 0.1.0
 * @category models
 */
export type AwaitError = VoucherifyError | AsyncActionFailedError | AsyncActionTimeoutError

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * The largest request body this service sends (the configured
   * `maxPayloadBytes`, 10485760 by default): `BulkMetadata` packs to it.
   */
  readonly maxPayloadBytes: number
  /**
   * `POST /v1/products/metadata/async`: every product named gets the
   * metadata; unknown source ids are created (upsert). Validated and
   * measured first: a body over the limit fails with a local
   * `PayloadTooLargeError` and nothing is sent.
   */
  readonly updateProductsMetadataInBulk: (
    request: SourceIdsMetadataUpdateRequest
  ) => Effect.Effect<BulkAccepted, VoucherifyError>
  /** `POST /v1/customers/metadata/async`: like products, upsert included. */
  readonly updateCustomersMetadataInBulk: (
    request: SourceIdsMetadataUpdateRequest
  ) => Effect.Effect<BulkAccepted, VoucherifyError>
  /** `POST /v1/vouchers/metadata/async`: unknown codes are not created. */
  readonly updateVouchersMetadataInBulk: (
    request: VouchersMetadataUpdateInBulkRequest
  ) => Effect.Effect<BulkAccepted, VoucherifyError>
  /**
   * `POST /v1/products/bulk/async`: each record carries its own values
   * (`VoucherifySchema.BulkRecord.products`); unknown source ids are created
   * (upsert). Every record is checked first (an unknown field, a `price`
   * that is not an integer, an id given twice fail with
   * `InvalidRequestError` naming the record), and a body over the limit
   * fails with a local `PayloadTooLargeError`: nothing is sent. For more
   * records than one body holds, `BulkRecords.run`.
   */
  readonly updateProductsInBulk: (
    records: ReadonlyArray<BulkRecord<"products">>
  ) => Effect.Effect<BulkAccepted, VoucherifyError>
  /** `POST /v1/customers/bulk/async`: like products, upsert included. */
  readonly updateCustomersInBulk: (
    records: ReadonlyArray<BulkRecord<"customers">>
  ) => Effect.Effect<BulkAccepted, VoucherifyError>
  /** `POST /v1/vouchers/bulk/async`: each code's own metadata; unknown codes are not created. */
  readonly updateVouchersInBulk: (
    records: ReadonlyArray<BulkRecord<"vouchers">>
  ) => Effect.Effect<BulkAccepted, VoucherifyError>
  /**
   * What `BulkMetadata` and `BulkRecords` send their bodies through: a body
   * already validated, serialized and measured, so that millions of ids are
   * not encoded twice. Not for applications; a double forwards it (as
   * `VoucherifyTest` does).
   *
   * @internal
   */
  readonly sendEncodedBulkRequest: (request: EncodedBulkRequest) => Effect.Effect<BulkAccepted, VoucherifyError>
  /** `GET /v1/async-actions/{id}`. */
  readonly getAsyncAction: (id: string) => Effect.Effect<AsyncAction, VoucherifyError>
  /** `GET /v1/async-actions`: the newest actions, without their results. */
  readonly listAsyncActions: (options?: {
    readonly limit?: number | undefined
    readonly end_date?: string | undefined
  }) => Effect.Effect<AsyncActionList, VoucherifyError>
  /**
   * Polls an async action until it is `DONE` (succeeds with it) or `FAILED`
   * (fails with `AsyncActionFailedError` carrying it). Polling is the only
   * way: no webhook announces completion.
   */
  readonly awaitAsyncAction: (id: string, options?: AwaitOptions) => Effect.Effect<AsyncAction, AwaitError>
  /**
   * Reads one report file of a finished metadata update (a URL of the
   * action's `result.reports`) as a stream of rows, decoded by its header
   * row, with the same timeouts and retries as other calls. The app keys go
   * with it only to the configured API's origin or its cluster's download
   * host, over https: any other URL fails with `UntrustedUrlError` and is
   * not requested. Past `availableTill`, or answered 404 or 410, it fails
   * with `ReportExpiredError`. The URL's query (a token) appears in no
   * error, span or log. `url` is one of `result.reports` as decoded (a
   * `Redacted`), or the URL itself.
   */
  readonly readReport: (
    url: string | Redacted.Redacted<string>,
    options?: ReportOptions
  ) => Stream.Stream<ReportRow, ReportError>
}

/**
 * One row of a report file: the record's id (`source_id`, `code` or `id`
 * column), whether it was `found` before the update, whether it was
 * `updated`, and every other column (names trimmed, lower-case). A record
 * not found but updated was created by the upsert.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReportRow {
  readonly id: string
  readonly found: boolean
  readonly updated: boolean
  /** The file's other columns, by their header names trimmed and lower-cased. */
  readonly columns: Readonly<Record<string, string>>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ReportOptions {
  /** The action's `result.reports_available_till`: after it, the report is not requested. */
  readonly availableTill?: string | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Voucherify extends Context.Tag("effect-voucherify/Voucherify")<Voucherify, Service>() {}

/**
 * Builds the service over {@link VoucherifyHttpClient.VoucherifyHttpClient}
 * (see {@link layerWithoutConfig} for it with the client).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  Service,
  never,
  VoucherifyHttpClient.VoucherifyHttpClient | VoucherifyConfig.VoucherifyConfig
> = internal.make

/**
 * Provides {@link Voucherify} with its client, for an application that
 * provides its own `VoucherifyConfig`; requires that config and the
 * application's `HttpClient.HttpClient`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithoutConfig: Layer.Layer<
  Voucherify,
  never,
  VoucherifyConfig.VoucherifyConfig | HttpClient.HttpClient
> = Layer.effect(Voucherify, make).pipe(Layer.provide(VoucherifyHttpClient.layer))

/**
 * Provides {@link Voucherify} and its `VoucherifyConfig` from options;
 * requires only the application's `HttpClient.HttpClient`. Bad options fail
 * the layer with a `ConfigError` naming the field.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer, Redacted } from "effect"
 * import { Voucherify } from "effect-voucherify"
 *
 * const VoucherifyLive = Voucherify.layer({
 *   appId: "my-app-id",
 *   appToken: Redacted.make("my-secret-token"),
 *   baseUrl: "https://my-dedicated-host.example.com",
 *   retry: { maxRetries: 3, maxRetryAfter: "2 minutes" }
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: VoucherifyConfig.Options
): Layer.Layer<Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.provideMerge(layerWithoutConfig, VoucherifyConfig.layer(options))

/**
 * Provides {@link Voucherify} and its `VoucherifyConfig` from `Config` (the
 * `VOUCHERIFY_*` environment variables by default, see
 * `VoucherifyConfig.config`); requires only the application's
 * `HttpClient.HttpClient`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config?: Config.Config<VoucherifyConfig.Options> | Config.Config.Wrap<VoucherifyConfig.Options>
): Layer.Layer<Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.provideMerge(layerWithoutConfig, VoucherifyConfig.layerConfig(config))
