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
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Clock from "effect/Clock"
import * as internalAwait from "./internal/asyncAction/await.js"
import { credentialOrigins } from "./internal/http/credentialHosts.js"
import { decode as decodeReport, reportAccess } from "./internal/asyncAction/reportFile.js"
import { readJson } from "./internal/http/boundedBody.js"
import { rateLimitHeaders } from "./internal/http/responseError.js"
import * as Secrets from "./internal/http/secrets.js"
import { checkAsyncActionId, checkListLimit, encodeBulkRequest, type EncodedBulkRequest } from "./internal/bulk/payload.js"
import * as VoucherifyConfig from "./VoucherifyConfig.js"
import {
  AsyncActionFailedError,
  AsyncActionTimeoutError,
  type BadRequestError,
  type NotFoundError,
  PayloadTooLargeError,
  ReportDecodeError,
  type ReportError,
  ResponseDecodeError,
  TransportError,
  type VoucherifyError
} from "./VoucherifyError.js"
import * as VoucherifyHttpClient from "./VoucherifyHttpClient.js"
import { AsyncAction, AsyncActionAccepted, AsyncActionList, type BulkAccepted, type BulkRecord, type BulkTarget, type SourceIdsMetadataUpdateRequest, type Metadata, type VouchersMetadataUpdateInBulkRequest } from "./VoucherifySchema.js"
import { bulkTargets } from "./internal/bulkTargets.js"
import { encodeRecordsRequest } from "./internal/records/encode.js"

export type {
  /**
   * A bulk body that was already validated, serialized and measured (as
   * `BulkMetadata.chunk` builds it), for {@link Service.sendEncodedBulkRequest}.
   *
   * @since 0.1.0
   * @category models
   */
  EncodedBulkRequest
} from "./internal/bulk/payload.js"

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
   * Sends a body that was already validated and serialized (by
   * `BulkMetadata.chunk`, or a per-record body with `kind: "records"`), so
   * that millions of ids are not encoded twice.
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

/** The first issue of a body that is not the documented one, on one line: where, and what. */
const decodeFailure = (status: number) => (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const text = issue === undefined
    ? error.message
    : `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`.replace(/\s*\n\s*/g, " ")
  return new ResponseDecodeError({ status, description: text.length > 300 ? `${text.slice(0, 300)}…` : text })
}

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
> = Effect.gen(function*() {
  const client = yield* VoucherifyHttpClient.VoucherifyHttpClient
  const config = yield* VoucherifyConfig.VoucherifyConfig

  // the secrets in use (an OAuth client's tokens too), scrubbed from every answer before it is decoded
  const secrets = Secrets.secretsOf(client) ?? (() => Secrets.configSecrets(config.auth))
  const scrubBody = (json: unknown) => Secrets.scrubJson(json, secrets())
  const scrubAction = (json: unknown) => Secrets.scrubAsyncActionJson(json, secrets())

  /** Sends, then decodes a 2xx body, within the per-attempt timeout. */
  const execute = <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    clean: (json: unknown) => unknown = scrubBody
  ) => Effect.map(executeWithHeaders(request, schema, clean), ([body]) => body)

  /**
   * {@link execute}, with the answer's headers. The body is read up to
   * `maxResponseBytes` and scrubbed of the secrets before it is decoded.
   */
  const executeWithHeaders = <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    clean: (json: unknown) => unknown = scrubBody
  ) =>
    Effect.flatMap(client.execute(request), (response) =>
      readJson(response, config.maxResponseBytes).pipe(
        Effect.flatMap((json) => Effect.mapError(Schema.decodeUnknown(schema)(clean(json)), decodeFailure(response.status))),
        Effect.map((body) => [body, response.headers] as const),
        Effect.timeoutFail({
          duration: config.timeout,
          onTimeout: () =>
            new TransportError({ reason: "Timeout", description: "reading the answer took longer than the timeout" })
        })
      ))

  const sendEncodedBulkRequest = Effect.fn("Voucherify.sendEncodedBulkRequest")(
    function*(request: EncodedBulkRequest) {
      yield* Effect.annotateCurrentSpan({
        "voucherify.target": request.target,
        "voucherify.ids": request.ids,
        "voucherify.bytes": request.body.byteLength,
        "voucherify.kind": request.kind ?? "metadata"
      })
      if (request.body.byteLength > config.maxPayloadBytes) {
        return yield* new PayloadTooLargeError({
          source: "local",
          bytes: request.body.byteLength,
          limit: config.maxPayloadBytes
        })
      }
      const target = bulkTargets[request.target]
      const http = HttpClientRequest.post(request.kind === "records" ? target.records.path : target.path).pipe(
        HttpClientRequest.bodyUint8Array(request.body, "application/json")
      )
      const [accepted, headers] = yield* executeWithHeaders(http, AsyncActionAccepted)
      yield* Effect.annotateCurrentSpan("voucherify.async_action_id", accepted.async_action_id)
      const rateLimit = rateLimitHeaders(headers)
      return rateLimit === undefined ? accepted : { async_action_id: accepted.async_action_id, rateLimit }
    }
  )

  const update = (target: BulkTarget, ids: ReadonlyArray<string>, metadata: Metadata) => {
    const encoded = encodeBulkRequest(target, ids, metadata, config.maxPayloadBytes)
    return "body" in encoded ? sendEncodedBulkRequest(encoded) : Effect.fail(encoded)
  }

  const updateRecords = (target: BulkTarget, records: ReadonlyArray<BulkRecord>) => {
    const encoded = encodeRecordsRequest(target, records, config.maxPayloadBytes)
    return "body" in encoded ? sendEncodedBulkRequest(encoded) : Effect.fail(encoded)
  }

  const reportOrigins = credentialOrigins({ baseUrl: config.baseUrl })
  // the platform's http.client span records the full URL, the report's token with it
  const untraced = Effect.locally(HttpClient.currentTracerDisabledWhen, () => true)

  /** A row, or a decode error, of a report file: without the secrets, nor the report's own token. */
  const scrubRow = (clean: (text: string) => string) => (row: ReportRow): ReportRow => {
    const id = clean(row.id)
    let columns = row.columns
    for (const name in row.columns) {
      const value = row.columns[name]!
      if (clean(name) !== name || clean(value) !== value) {
        columns = Object.fromEntries(Object.entries(row.columns).map(([k, v]) => [clean(k), clean(v)]))
        break
      }
    }
    return id === row.id && columns === row.columns ? row : { ...row, id, columns }
  }
  const scrubReportError = (clean: (text: string) => string) => (error: ReportError): ReportError =>
    error._tag === "ReportDecodeError"
      ? new ReportDecodeError({
        ...error,
        reason: clean(error.reason),
        ...(error.header !== undefined ? { header: error.header.map(clean) } : {}),
        ...(error.column !== undefined ? { column: clean(error.column) } : {})
      })
      : error

  const readReport = (
    report: string | Redacted.Redacted<string>,
    options?: ReportOptions
  ): Stream.Stream<ReportRow, ReportError> => {
    const url = Redacted.isRedacted(report) ? Redacted.value(report) : report
    const { check, expired, shown } = reportAccess(url, options, reportOrigins)
    const clean = Secrets.scrubber(() => [...secrets(), ...Secrets.urlTokens(url)])
    const open = Effect.gen(function*() {
      const checked = check(yield* Clock.currentTimeMillis)
      if (checked._tag === "Left") return yield* checked.left
      const response = yield* client.execute(
        HttpClientRequest.get(checked.right.href).pipe(HttpClientRequest.setHeader("accept", "text/csv, */*"))
      ).pipe(
        untraced,
        // an error body that repeats the report's token does not carry it further
        Effect.locally(Secrets.requestSecrets, Secrets.urlTokens(url)),
        Effect.catchIf(
          (error): error is NotFoundError | BadRequestError =>
            error._tag === "NotFoundError" || (error._tag === "BadRequestError" && error.status === 410),
          (error) => Effect.fail(expired(error.status))
        )
      )
      return decodeReport(
        response.stream.pipe(
          Stream.mapError((error) =>
            new TransportError({ reason: "Transport", description: `reading the report ${shown}: ${error.reason}` })
          ),
          // the per-attempt timeout, between two pieces of the body
          Stream.timeoutFail(
            () => new TransportError({ reason: "Timeout", description: `reading the report ${shown} stalled` }),
            config.timeout
          )
        )
      )
    }).pipe(Effect.withSpan("Voucherify.readReport", { attributes: { "voucherify.report": shown } }))
    return Stream.unwrapScoped(open).pipe(Stream.map(scrubRow(clean)), Stream.mapError(scrubReportError(clean)))
  }

  const getAsyncAction = Effect.fn("Voucherify.getAsyncAction")(function*(id: string) {
    yield* Effect.annotateCurrentSpan("voucherify.async_action_id", id)
    const invalid = checkAsyncActionId(id)
    if (invalid) return yield* invalid
    const action = yield* execute(
      HttpClientRequest.get(`/v1/async-actions/${encodeURIComponent(id)}`),
      AsyncAction,
      scrubAction
    )
    yield* Effect.annotateCurrentSpan("voucherify.status", action.status)
    return action
  })

  const service: Service = {
    maxPayloadBytes: config.maxPayloadBytes,
    updateProductsMetadataInBulk: Effect.fn("Voucherify.updateProductsMetadataInBulk")(
      (request: SourceIdsMetadataUpdateRequest) => update("products", request.source_ids, request.metadata)
    ),
    updateCustomersMetadataInBulk: Effect.fn("Voucherify.updateCustomersMetadataInBulk")(
      (request: SourceIdsMetadataUpdateRequest) => update("customers", request.source_ids, request.metadata)
    ),
    updateVouchersMetadataInBulk: Effect.fn("Voucherify.updateVouchersMetadataInBulk")(
      (request: VouchersMetadataUpdateInBulkRequest) => update("vouchers", request.codes, request.metadata)
    ),
    updateProductsInBulk: Effect.fn("Voucherify.updateProductsInBulk")(
      (records: ReadonlyArray<BulkRecord<"products">>) => updateRecords("products", records)
    ),
    updateCustomersInBulk: Effect.fn("Voucherify.updateCustomersInBulk")(
      (records: ReadonlyArray<BulkRecord<"customers">>) => updateRecords("customers", records)
    ),
    updateVouchersInBulk: Effect.fn("Voucherify.updateVouchersInBulk")(
      (records: ReadonlyArray<BulkRecord<"vouchers">>) => updateRecords("vouchers", records)
    ),
    sendEncodedBulkRequest,
    getAsyncAction,
    listAsyncActions: Effect.fn("Voucherify.listAsyncActions")(function*(options) {
      const limit = options?.limit
      const invalid = checkListLimit(limit)
      if (invalid) return yield* invalid
      const request = HttpClientRequest.get("/v1/async-actions").pipe(
        HttpClientRequest.setUrlParams({
          ...(limit !== undefined ? { limit: String(limit) } : {}),
          ...(options?.end_date !== undefined ? { end_date: options.end_date } : {})
        })
      )
      return yield* execute(request, AsyncActionList)
    }),
    awaitAsyncAction: Effect.fn("Voucherify.awaitAsyncAction")(
      (id: string, options?: AwaitOptions) => internalAwait.awaitWith(getAsyncAction)(id, options)
    ),
    readReport
  }
  return service
})

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
