/**
 * `Voucherify.make`: the typed endpoints over `VoucherifyHttpClient`, every
 * answer scrubbed of the secrets that client holds before it is decoded.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AwaitOptions, ReportOptions, ReportRow, Service } from "../Voucherify.js"
import { VoucherifyConfig } from "../VoucherifyConfig.js"
import {
  type BadRequestError,
  type NotFoundError,
  PayloadTooLargeError,
  ReportDecodeError,
  type ReportError,
  ResponseDecodeError,
  TransportError
} from "../VoucherifyError.js"
import { VoucherifyHttpClient } from "../VoucherifyHttpClient.js"
import {
  AsyncAction,
  AsyncActionList,
  type BulkRecord,
  type BulkTarget,
  type Metadata,
  type SourceIdsMetadataUpdateRequest,
  type VouchersMetadataUpdateInBulkRequest
} from "../VoucherifySchema.js"
import * as internalAwait from "./asyncAction/await.js"
import { decode as decodeReport, reportAccess } from "./asyncAction/reportFile.js"
import { checkAsyncActionId, checkListLimit, encodeBulkRequest, type EncodedBulkRequest } from "./bulk/payload.js"
import { bulkTargets } from "./bulkTargets.js"
import { readJson } from "./http/boundedBody.js"
import { credentialOrigins } from "./http/credentialHosts.js"
import { rateLimitHeaders } from "./http/responseError.js"
import * as Secrets from "./http/secrets.js"
import { AsyncActionAccepted } from "./http/wire.js"
import { encodeRecordsRequest } from "./records/encode.js"

/** Cleans an answer's parsed JSON of the secrets given. */
type Scrub = (json: unknown, secrets: ReadonlyArray<string>) => unknown

/** The first issue of a body that is not the documented one, on one line: where, and what. */
const decodeFailure = (status: number) => (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const text = issue === undefined
    ? error.message
    : `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`.replace(/\s*\n\s*/g, " ")
  return new ResponseDecodeError({ status, description: text.length > 300 ? `${text.slice(0, 300)}…` : text })
}

/**
 * A row of a report file without the secrets, nor the report's own token.
 * Column names were lower-cased, so a secret is looked for lower-cased too.
 */
const scrubRow = (secrets: ReadonlyArray<string>) => {
  const clean = Secrets.scrubber(() => secrets)
  const cleanName = Secrets.scrubber(() => [...secrets, ...secrets.map((secret) => secret.toLowerCase())])
  return (row: ReportRow): ReportRow => {
    const id = clean(row.id)
    let columns = row.columns
    for (const name in row.columns) {
      const value = row.columns[name]!
      if (cleanName(name) !== name || clean(value) !== value) {
        columns = Object.fromEntries(Object.entries(row.columns).map(([k, v]) => [cleanName(k), clean(v)]))
        break
      }
    }
    return id === row.id && columns === row.columns ? row : { ...row, id, columns }
  }
}

/** A report's decode error, likewise. */
const scrubReportError = (secrets: ReadonlyArray<string>) => {
  const clean = Secrets.scrubber(() => secrets)
  return (error: ReportError): ReportError =>
    error._tag === "ReportDecodeError"
      ? new ReportDecodeError({
        ...error,
        reason: clean(error.reason),
        ...(error.header !== undefined ? { header: error.header.map(clean) } : {}),
        ...(error.column !== undefined ? { column: clean(error.column) } : {})
      })
      : error
}

export const make: Effect.Effect<Service, never, VoucherifyHttpClient | VoucherifyConfig> = Effect.gen(function*() {
  const http = yield* VoucherifyHttpClient
  const client = http.client
  const config = yield* VoucherifyConfig

  // the secrets the client uses now (an OAuth token too), scrubbed from every answer before it is decoded
  const secrets = Effect.map(http.secrets, Secrets.values)

  /** Sends, then decodes a 2xx body, within the per-attempt timeout. */
  const execute = <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    clean: Scrub = Secrets.scrubJson
  ) => Effect.map(executeWithHeaders(request, schema, clean), ([body]) => body)

  /**
   * {@link execute}, with the answer's headers. The body is read up to
   * `maxResponseBytes` and scrubbed of the secrets before it is decoded.
   */
  const executeWithHeaders = <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    clean: Scrub = Secrets.scrubJson
  ) =>
    Effect.flatMap(client.execute(request), (response) =>
      readJson(response, config.maxResponseBytes).pipe(
        Effect.flatMap((json) => Effect.map(secrets, (known) => clean(json, known))),
        Effect.flatMap((json) => Effect.mapError(Schema.decodeUnknown(schema)(json), decodeFailure(response.status))),
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

  const readReport = (
    report: string | Redacted.Redacted<string>,
    options?: ReportOptions
  ): Stream.Stream<ReportRow, ReportError> => {
    const url = Redacted.isRedacted(report) ? Redacted.value(report) : report
    const { check, expired, shown } = reportAccess(url, options, reportOrigins)
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
      // the secrets as they are once the file is answered, and the report's own token
      const known = [...(yield* secrets), ...Secrets.urlTokens(url)]
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
      ).pipe(Stream.map(scrubRow(known)), Stream.mapError(scrubReportError(known)))
    }).pipe(Effect.withSpan("Voucherify.readReport", { attributes: { "voucherify.report": shown } }))
    return Stream.unwrapScoped(open)
  }

  const getAsyncAction = Effect.fn("Voucherify.getAsyncAction")(function*(id: string) {
    yield* Effect.annotateCurrentSpan("voucherify.async_action_id", id)
    const invalid = checkAsyncActionId(id)
    if (invalid) return yield* invalid
    const action = yield* execute(
      HttpClientRequest.get(`/v1/async-actions/${encodeURIComponent(id)}`),
      AsyncAction,
      Secrets.scrubAsyncActionJson
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

