/**
 * `VoucherifyTest`: the real `Voucherify.make` over the mock server's own
 * handler, reached through an in-process `HttpClient` (no socket), so the
 * in-memory double and the loopback server cannot disagree. Around it, a
 * record of every call.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { awaitWith } from "../../internal/asyncAction/await.js"
import { credentialOrigins } from "../../internal/http/credentialHosts.js"
import * as Voucherify from "../../Voucherify.js"
import * as VoucherifyConfig from "../../VoucherifyConfig.js"
import { InvalidRequestError, type ReportError } from "../../VoucherifyError.js"
import * as VoucherifyHttpClient from "../../VoucherifyHttpClient.js"
import type { Method, Options, RecordedCall, State } from "../VoucherifyTest.js"
import { makeHandler } from "./mockServer/handler.js"
import { makeClient } from "./mockServer/inProcess.js"
import { Options as CheckedOptions } from "./mockServer/options.js"
import { decode } from "./schemas.js"

type CallInfo = Pick<RecordedCall, "target" | "ids" | "bytes" | "asyncActionId">

/** The body size the transport saw for the call being recorded. */
const sentBytes = FiberRef.unsafeMake<{ bytes?: number } | undefined>(undefined)

const appId = "mock-app-id"
const appToken = Redacted.make("mock-app-token")

const fromConfigError = (error: ConfigError.ConfigError) =>
  new InvalidRequestError({ path: ConfigError.isInvalidData(error) ? error.path.join(".") : "", reason: String(error) })

export const make = (
  options: Options = {}
): Effect.Effect<{ readonly service: Voucherify.Service; readonly state: State }, InvalidRequestError> =>
  Effect.gen(function*() {
    const checked = yield* decode(CheckedOptions)({
      maxPayloadBytes: options.maxPayloadBytes,
      processingDelay: options.processingDelay ?? Duration.seconds(1),
      reportTtl: options.reportTtl,
      maxResultErrors: options.maxResultErrors,
      rateLimits: options.rateLimits,
      faults: options.faults,
      // the calls are the record here
      maxRecordedRequests: 0
    })
    // a client that does not retry: a fault's answer reaches the program as its error
    const config = yield* Effect.mapError(
      VoucherifyConfig.make({ appId, appToken, maxPayloadBytes: checked.maxPayloadBytes, retry: { maxRetries: 0 } }),
      fromConfigError
    )
    // reports are named under the real download host, which the client gives the credentials
    const downloadOrigin = credentialOrigins({ baseUrl: config.baseUrl })[1]!
    const handler = makeHandler({
      checked,
      records: options.records,
      appId,
      appToken,
      reportOrigin: () => downloadOrigin,
      // the caller's clock: a TestClock drives requests and reads alike
      now: Clock.currentTimeMillis
    })
    const transport = HttpClient.tapRequest(makeClient(handler), (request) =>
      Effect.map(FiberRef.get(sentBytes), (slot) => {
        if (slot !== undefined && request.body._tag === "Uint8Array") slot.bytes = request.body.body.byteLength
      }))
    const real = yield* Effect.provideServiceEffect(
      Voucherify.make,
      VoucherifyHttpClient.VoucherifyHttpClient,
      Effect.provideService(VoucherifyHttpClient.make, HttpClient.HttpClient, transport)
    ).pipe(Effect.provideService(VoucherifyConfig.VoucherifyConfig, config))

    const calls: Array<RecordedCall> = []

    /** Records a call that started at `at` once it ends; `slot` holds the size of the body it sent. */
    const record = (method: Method, at: number, info: CallInfo, slot: { bytes?: number }) =>
    (exit: Exit.Exit<unknown, Voucherify.AwaitError | ReportError>) =>
      Effect.sync(() => {
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        const bytes = slot.bytes ?? (error?._tag === "PayloadTooLargeError" ? error.bytes : info.bytes)
        const accepted = Exit.isSuccess(exit) && Predicate.hasProperty(exit.value, "async_action_id")
          ? { asyncActionId: String(exit.value.async_action_id) }
          : {}
        calls.push({
          method,
          at,
          ...info,
          ...accepted,
          ...(bytes !== undefined ? { bytes } : {}),
          ...(Exit.isSuccess(exit)
            ? { outcome: "success" }
            : error === undefined
            ? { outcome: "interrupted" }
            : { outcome: "failure", error })
        })
      })

    const recorded = <A, E extends Voucherify.AwaitError>(method: Method, info: CallInfo, effect: Effect.Effect<A, E>) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        const slot = {}
        return Effect.onExit(Effect.locally(effect, sentBytes, slot), record(method, at, info, slot))
      })

    const getAsyncAction = (id: string) => recorded("getAsyncAction", { asyncActionId: id }, real.getAsyncAction(id))

    const service: Voucherify.Service = {
      maxPayloadBytes: real.maxPayloadBytes,
      updateProductsMetadataInBulk: (request) =>
        recorded(
          "updateProductsMetadataInBulk",
          { target: "products", ids: request.source_ids.length },
          real.updateProductsMetadataInBulk(request)
        ),
      updateCustomersMetadataInBulk: (request) =>
        recorded(
          "updateCustomersMetadataInBulk",
          { target: "customers", ids: request.source_ids.length },
          real.updateCustomersMetadataInBulk(request)
        ),
      updateVouchersMetadataInBulk: (request) =>
        recorded(
          "updateVouchersMetadataInBulk",
          { target: "vouchers", ids: request.codes.length },
          real.updateVouchersMetadataInBulk(request)
        ),
      updateProductsInBulk: (records) =>
        recorded("updateProductsInBulk", { target: "products", ids: records.length }, real.updateProductsInBulk(records)),
      updateCustomersInBulk: (records) =>
        recorded("updateCustomersInBulk", { target: "customers", ids: records.length }, real.updateCustomersInBulk(records)),
      updateVouchersInBulk: (records) =>
        recorded("updateVouchersInBulk", { target: "vouchers", ids: records.length }, real.updateVouchersInBulk(records)),
      sendEncodedBulkRequest: (request) =>
        recorded(
          "sendEncodedBulkRequest",
          { target: request.target, ids: request.ids, bytes: request.body.byteLength },
          real.sendEncodedBulkRequest(request)
        ),
      getAsyncAction,
      listAsyncActions: (request) => recorded("listAsyncActions", {}, real.listAsyncActions(request)),
      // the real service's polling loop, over the recorded getAsyncAction: each poll is a call
      awaitAsyncAction: (id, awaitOptions) =>
        recorded("awaitAsyncAction", { asyncActionId: id }, awaitWith(getAsyncAction)(id, awaitOptions)),
      readReport: (url, reportOptions) =>
        Stream.unwrap(Effect.map(Clock.currentTimeMillis, (at) =>
          Stream.ensuringWith(real.readReport(url, reportOptions), record("readReport", at, {}, {}))))
    }

    const state: State = {
      calls: Effect.sync(() => calls.slice()),
      metadata: handler.inspect.getMetadata,
      record: handler.inspect.getRecord,
      records: handler.records,
      asyncActions: handler.inspect.asyncActions,
      setFaults: handler.inspect.setFaults
    }
    return { service, state }
  })
