/**
 * `VoucherifyTest`: the `Voucherify` service over the shared simulator, with
 * the real service's local validation and polling, a record of every call,
 * and scripted failures.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { awaitWith } from "../../internal/asyncAction/await.js"
import { credentialOrigins } from "../../internal/http/credentialHosts.js"
import { decode as decodeReport, reportAccess } from "../../internal/asyncAction/reportFile.js"
import { defaultMaxPayloadBytes } from "../../internal/limits.js"
import {
  checkAsyncActionId,
  checkListLimit,
  encodeBulkRequest,
  type EncodedBulkRequest
} from "../../internal/bulk/payload.js"
import type * as Voucherify from "../../Voucherify.js"
import {
  BadRequestError,
  type InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  type ReportError,
  type VoucherifyError
} from "../../VoucherifyError.js"
import { AsyncActionAccepted, AsyncActionId, type AsyncActionList, type BulkRecord, type BulkTarget, type Metadata } from "../../VoucherifySchema.js"
import { bulkTargets } from "../../internal/bulkTargets.js"
import type { Method, Options, RecordedCall, State } from "../VoucherifyTest.js"
import { encodeRecordsRequest } from "../../internal/records/encode.js"
import { decodeBulkBody } from "./bulkBody.js"
import { decodeRecordsBody } from "./recordsBody.js"
import { Count, decode, DurationInput, FiniteDurationInput, PositiveInt, Probability, toDuration } from "./schemas.js"
import { makeSimulator, parseReportUrl, reportsPath, storedRecord } from "./simulator.js"

/** The options whose values must hold up, with their defaults. */
const CheckedOptions = Schema.Struct({
  maxPayloadBytes: Schema.optionalWith(PositiveInt, { default: () => defaultMaxPayloadBytes }),
  processingDelay: Schema.optionalWith(toDuration(DurationInput), { default: () => Duration.seconds(1) }),
  reportTtl: Schema.optionalWith(toDuration(FiniteDurationInput), { default: () => Duration.hours(24) })
})

const checkOptions = decode(CheckedOptions)
const checkCount = decode(Count, "n")
const checkProbability = decode(Probability, "probability")

const textDecoder = new TextDecoder()

type CallInfo = Pick<RecordedCall, "target" | "ids" | "bytes" | "asyncActionId">
type CallOutcome = Pick<RecordedCall, "outcome" | "error" | "asyncActionId">

const invalidPayload = (details: string) =>
  new BadRequestError({ status: 400, code: 400, key: "invalid_payload", serverMessage: "Invalid payload", details })

const actionNotFound = (id: string) =>
  new NotFoundError({
    status: 404,
    code: 404,
    key: "not_found",
    serverMessage: "Resource not found",
    details: `Cannot find async_action with id ${id}`,
    resource_id: id,
    resource_type: "async_action"
  })

const invalidEndDate = new BadRequestError({
  status: 400,
  code: 400,
  key: "invalid_query_params",
  serverMessage: "Invalid query params",
  details: "Property .end_date cannot be recognized as a ISO-8601 compliant date"
})

/** The real service's credential hosts for the default cluster: its API and its downloads. */
const reportOrigins = credentialOrigins({ baseUrl: "https://api.voucherify.io" })

export const make = (
  options: Options | undefined
): Effect.Effect<{ readonly service: Voucherify.Service; readonly state: State }, InvalidRequestError> =>
  Effect.map(checkOptions(options ?? {}), ({ maxPayloadBytes, processingDelay, reportTtl }) => {
    const simulator = makeSimulator({
      records: { products: options?.products, customers: options?.customers, vouchers: options?.vouchers },
      processingMillis: Duration.toMillis(processingDelay),
      // the in-memory double names every unknown code
      maxResultErrors: Number.POSITIVE_INFINITY,
      // never requested: the double serves its reports itself, under the real download host's name
      reportUrl: (actionId, token) => `${reportOrigins[1]}${reportsPath}/${actionId}.csv?token=${token}`,
      reportTtlMillis: Duration.toMillis(reportTtl)
    })
    const calls: Array<RecordedCall> = []
    const random = Random.make(options?.seed ?? 0)
    const pending: Array<{ readonly method: Method | "all"; readonly error: VoucherifyError }> = []
    const randomRules: Array<
      { readonly method: Method | "all"; readonly probability: number; readonly error: VoucherifyError }
    > = []
    let actionsToFail = 0

    /** A scripted answer of the server, if one applies to this call. */
    const scriptedFailure = (method: Method): Effect.Effect<void, VoucherifyError> =>
      Effect.suspend(() => {
        const index = pending.findIndex((entry) => entry.method === method || entry.method === "all")
        if (index >= 0) return Effect.fail(pending.splice(index, 1)[0]!.error)
        return Effect.forEach(
          randomRules.filter((rule) => rule.method === method || rule.method === "all"),
          (rule) => Effect.flatMap(random.next, (draw) => draw < rule.probability ? Effect.fail(rule.error) : Effect.void),
          { discard: true }
        )
      })

    /** Records the call, however it ends. */
    const recorded = <A, E extends Voucherify.AwaitError | ReportError>(
      method: Method,
      info: CallInfo,
      effect: Effect.Effect<A, E>,
      acceptedId?: (a: A) => string
    ): Effect.Effect<A, E> =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Effect.onExit(effect, (exit) =>
          Effect.sync(() => {
            const outcome = Exit.match(exit, {
              onSuccess: (a): CallOutcome => ({
                outcome: "success",
                ...(acceptedId ? { asyncActionId: acceptedId(a) } : {})
              }),
              onFailure: (cause): CallOutcome =>
                Option.match(Cause.failureOption(cause), {
                  onNone: () => ({ outcome: "interrupted" }),
                  onSome: (error) => ({ outcome: "failure", error })
                })
            })
            calls.push({ method, at, ...info, ...outcome })
          })
        ))

    /** The server's side of a bulk request: a scripted failure, or the body decoded and queued. */
    const accept = (method: Method, request: EncodedBulkRequest): Effect.Effect<AsyncActionAccepted, VoucherifyError> =>
      Effect.zipRight(
        scriptedFailure(method),
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const text = textDecoder.decode(request.body)
          const decoded = request.kind === "records"
            ? decodeRecordsBody(request.target, text)
            : decodeBulkBody(bulkTargets[request.target].field, text)
          if (typeof decoded === "string") return Effect.fail(invalidPayload(decoded))
          const fails = actionsToFail > 0
          if (fails) actionsToFail--
          const work = "metadata" in decoded ? decoded : { records: decoded }
          const id = simulator.accept(now, { target: request.target, ...work, fails })
          return Effect.succeed(new AsyncActionAccepted({ async_action_id: AsyncActionId.make(id) }))
        })
      )

    const sendEncoded = (method: Method, request: EncodedBulkRequest) =>
      recorded(
        method,
        { target: request.target, ids: request.ids, bytes: request.body.byteLength },
        request.body.byteLength > maxPayloadBytes
          ? Effect.fail(
            new PayloadTooLargeError({ source: "local", bytes: request.body.byteLength, limit: maxPayloadBytes })
          )
          : accept(method, request),
        (accepted) => accepted.async_action_id
      )

    const update = (method: Method, target: BulkTarget, ids: ReadonlyArray<string>, metadata: Metadata) => {
      const encoded = encodeBulkRequest(target, ids, metadata, maxPayloadBytes)
      if ("body" in encoded) return sendEncoded(method, encoded)
      const info: CallInfo = {
        target,
        ids: ids.length,
        bytes: encoded._tag === "PayloadTooLargeError" ? encoded.bytes : undefined
      }
      return recorded(method, info, Effect.fail(encoded))
    }

    const updateRecords = (method: Method, target: BulkTarget, records: ReadonlyArray<BulkRecord>) => {
      const encoded = encodeRecordsRequest(target, records, maxPayloadBytes)
      if ("body" in encoded) return sendEncoded(method, encoded)
      const info: CallInfo = {
        target,
        ids: records.length,
        bytes: encoded._tag === "PayloadTooLargeError" ? encoded.bytes : undefined
      }
      return recorded(method, info, Effect.fail(encoded))
    }

    const getAsyncAction = Effect.fn("VoucherifyTest.getAsyncAction")((id: string) => {
      const invalid = checkAsyncActionId(id)
      return recorded(
        "getAsyncAction",
        { asyncActionId: id },
        invalid
          ? Effect.fail(invalid)
          : Effect.zipRight(
            scriptedFailure("getAsyncAction"),
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const action = simulator.getAction(now, id)
              return action ? Effect.succeed(action) : Effect.fail(actionNotFound(id))
            })
          )
      )
    })

    const listAsyncActions = Effect.fn("VoucherifyTest.listAsyncActions")(
      (options?: { readonly limit?: number | undefined; readonly end_date?: string | undefined }) => {
        const limit = options?.limit
        const endDate = options?.end_date === undefined ? undefined : Date.parse(options.end_date)
        const invalid = checkListLimit(limit)
        const answer: Effect.Effect<AsyncActionList, VoucherifyError> = invalid
          ? Effect.fail(invalid)
          : Effect.zipRight(
            scriptedFailure("listAsyncActions"),
            Number.isNaN(endDate)
              ? Effect.fail(invalidEndDate)
              // the API's default page size for lists
              : Effect.map(Clock.currentTimeMillis, (now) => simulator.list(now, limit ?? 10, endDate))
          )
        return recorded("listAsyncActions", {}, answer)
      }
    )

    /** The real service's rules (host, expiry, 404), over the simulator's files. */
    const readReport = (
      report: string | Redacted.Redacted<string>,
      options?: Voucherify.ReportOptions
    ): Stream.Stream<Voucherify.ReportRow, ReportError> => {
      const url = Redacted.isRedacted(report) ? Redacted.value(report) : report
      const { check, expired } = reportAccess(url, options, reportOrigins)
      const open = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const checked = check(now)
        // refused locally: no scripted failure is used up
        if (checked._tag === "Left") return yield* checked.left
        yield* scriptedFailure("readReport")
        const file = parseReportUrl(checked.right)
        const found = file === undefined ? { _tag: "NotFound" as const } : simulator.report(now, file.actionId, file.token)
        switch (found._tag) {
          case "Found":
            return found.csv
          case "Expired":
            return yield* expired(410)
          case "NotFound":
            return yield* expired(404)
        }
      })
      return Stream.unwrap(
        Effect.map(recorded("readReport", {}, open), (csv) => decodeReport(Stream.make(csv)))
      )
    }

    const service: Voucherify.Service = {
      maxPayloadBytes,
      readReport,
      updateProductsMetadataInBulk: Effect.fn("VoucherifyTest.updateProductsMetadataInBulk")((request) =>
        update("updateProductsMetadataInBulk", "products", request.source_ids, request.metadata)
      ),
      updateCustomersMetadataInBulk: Effect.fn("VoucherifyTest.updateCustomersMetadataInBulk")((request) =>
        update("updateCustomersMetadataInBulk", "customers", request.source_ids, request.metadata)
      ),
      updateVouchersMetadataInBulk: Effect.fn("VoucherifyTest.updateVouchersMetadataInBulk")((request) =>
        update("updateVouchersMetadataInBulk", "vouchers", request.codes, request.metadata)
      ),
      updateProductsInBulk: Effect.fn("VoucherifyTest.updateProductsInBulk")((records) =>
        updateRecords("updateProductsInBulk", "products", records)
      ),
      updateCustomersInBulk: Effect.fn("VoucherifyTest.updateCustomersInBulk")((records) =>
        updateRecords("updateCustomersInBulk", "customers", records)
      ),
      updateVouchersInBulk: Effect.fn("VoucherifyTest.updateVouchersInBulk")((records) =>
        updateRecords("updateVouchersInBulk", "vouchers", records)
      ),
      sendEncodedBulkRequest: Effect.fn("VoucherifyTest.sendEncodedBulkRequest")((request) =>
        sendEncoded("sendEncodedBulkRequest", request)
      ),
      getAsyncAction,
      listAsyncActions,
      // The real service's polling loop, over this service's getAsyncAction.
      awaitAsyncAction: Effect.fn("VoucherifyTest.awaitAsyncAction")((id, awaitOptions) =>
        recorded(
          "awaitAsyncAction",
          { asyncActionId: id },
          Effect.zipRight(scriptedFailure("awaitAsyncAction"), awaitWith(getAsyncAction)(id, awaitOptions))
        )
      )
    }

    const records = Effect.map(Clock.currentTimeMillis, simulator.records)

    const state: State = {
      calls: Effect.sync(() => calls.slice()),
      metadata: (target, id) => Effect.map(records, (store) => Option.fromNullable(store.get(target, id))),
      record: (target, id) => Effect.map(records, (store) => storedRecord(store, target, id)),
      records: (target) => Effect.map(records, (store) => new Map(store.records(target))),
      asyncActions: Effect.map(Clock.currentTimeMillis, simulator.actions),
      failNext: (method, n, error) =>
        Effect.map(checkCount(n), () => {
          for (let i = 0; i < n; i++) pending.push({ method, error })
        }),
      failRandomly: (method, probability, error) =>
        Effect.map(checkProbability(probability), () => {
          randomRules.push({ method, probability, error })
        }),
      failNextActions: (n) =>
        Effect.map(checkCount(n), () => {
          actionsToFail += n
        }),
      clearFailures: Effect.sync(() => {
        pending.length = 0
        randomRules.length = 0
        actionsToFail = 0
      })
    }

    return { service, state }
  })
