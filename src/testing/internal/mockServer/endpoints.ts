/**
 * What each endpoint does once a request got past the gateway checks
 * (faults, size, credentials, quotas).
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import { checkListLimit } from "../../../internal/bulk/payload.js"
import { AsyncActionAccepted } from "../../../internal/http/wire.js"
import { AsyncAction, AsyncActionId, AsyncActionList } from "../../../VoucherifySchema.js"
import { bulkTargets } from "../../../internal/bulkTargets.js"
import type { Fault, Outcome, Target } from "../../MockVoucherifyServer.js"
import { decodeBulkBody } from "../bulkBody.js"
import { decodeRecordsBody } from "../recordsBody.js"
import type { Simulator } from "../simulator.js"
export { reportsPath } from "../simulator.js"
import { apiErrorBody, type BodyRead, payloadTooLargeBody, randomHex } from "./http.js"

/** What the pipeline sends back: an answer, or a dropped connection. */
export type Reply = Respond | { readonly _tag: "Drop"; readonly outcome: Outcome }

export interface Respond {
  readonly _tag: "Respond"
  readonly response: HttpServerResponse.HttpServerResponse
  readonly outcome: Outcome
  readonly asyncActionId?: string
  /**
   * After answering, `close` the connection (a body refused from its
   * Content-Length stays unread) or `drain` it (a chunked body cut off midway).
   */
  readonly after?: "close" | "drain"
}

/** A JSON answer. */
export const respond = (
  status: number,
  body: unknown,
  outcome: Outcome,
  headers: Readonly<Record<string, string>> = {}
): Respond => ({ _tag: "Respond", response: HttpServerResponse.unsafeJson(body, { status, headers }), outcome })

/**
 * A JSON answer encoded through the schema the client decodes it with, so
 * that the mock is held to the same wire contract. An answer the schema
 * refuses is a bug of the mock: a defect.
 */
const respondWith = <A, I>(schema: Schema.Schema<A, I>, status: number, outcome: Outcome) => (body: A) =>
  HttpServerResponse.schemaJson(schema)(body, { status }).pipe(
    Effect.orDie,
    Effect.map((response): Respond => ({ _tag: "Respond", response, outcome }))
  )

const ok = <A, I>(schema: Schema.Schema<A, I>) => respondWith(schema, 200, "ok")

/** The gateway's 413, decided from the Content-Length (`close`) or while reading a chunked body (`drain`). */
export const payloadTooLarge = (limit: number, after: "close" | "drain"): Respond => ({
  ...respond(413, payloadTooLargeBody(limit), "payload_too_large", after === "close" ? { connection: "close" } : {}),
  after
})

const invalid = (details: string, key = "invalid_payload") =>
  respond(400, apiErrorBody(400, key, "Invalid payload", details), "invalid_payload")

const notFound = (details: string, resource?: { readonly id: string; readonly type: string }) =>
  respond(
    404,
    apiErrorBody(
      404,
      "not_found",
      "Resource not found",
      details,
      resource === undefined ? {} : { resource_id: resource.id, resource_type: resource.type }
    ),
    "not_found"
  )

/** One request as the endpoints see it. */
export interface Exchange {
  readonly method: string
  readonly path: string
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly params: Readonly<Record<string, string | undefined>>
  /** The fault drawn for this request; an `ActionFailed` one reaches the endpoint. */
  readonly fault: Fault | undefined
  /** Reads the body under the size limit, counting it into the request log. */
  readonly readBody: Effect.Effect<BodyRead>
}

export interface Token {
  readonly expiresAtMillis: number
  readonly scopes: ReadonlySet<string>
}

export interface Deps {
  readonly simulator: Simulator
  /** The server's `Clock`, which its state reads use too. */
  readonly now: Effect.Effect<number>
  readonly tokens: Map<string, Token>
  readonly appId: string
  readonly maxPayloadBytes: number
  readonly tokenTtl: Duration.Duration
}


const textDecoder = new TextDecoder()

/** Reads the body and hands its text on; answers 413 or drops the connection itself. */
const withBody = (
  exchange: Exchange,
  deps: Deps,
  f: (text: string) => Effect.Effect<Reply>
): Effect.Effect<Reply> =>
  Effect.flatMap(exchange.readBody, (read) => {
    switch (read._tag) {
      case "TooLarge":
        return Effect.succeed(payloadTooLarge(deps.maxPayloadBytes, "drain"))
      case "Aborted":
        return Effect.succeed<Reply>({ _tag: "Drop", outcome: "client_aborted" })
      case "Body":
        return f(textDecoder.decode(read.bytes))
    }
  })

/** `POST /v1/{target}/metadata/async`. */
export const bulkUpdate = (target: Target) => (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  withBody(exchange, deps, (text) => {
    const decoded = decodeBulkBody(bulkTargets[target].field, text)
    if (typeof decoded === "string") return Effect.succeed(invalid(decoded))
    return queued(deps, { target, ...decoded, fails: failsAction(exchange.fault) })
  })

/** `POST /v1/{target}/bulk/async`: records, each with its own values. */
export const bulkRecords = (target: Target) => (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  withBody(exchange, deps, (text) => {
    const records = decodeRecordsBody(target, text)
    if (typeof records === "string") return Effect.succeed(invalid(records))
    return queued(deps, { target, records, fails: failsAction(exchange.fault) })
  })

/** The `ActionFailed` fault: the request is accepted, and its action ends `FAILED`. */
const failsAction = (fault: Fault | undefined): boolean => fault?._tag === "ActionFailed"

/** Queues the work and answers 202 with the new action's id, through the client's own schema. */
const queued = (deps: Deps, request: Parameters<Simulator["accept"]>[1]): Effect.Effect<Reply> =>
  deps.now.pipe(
    Effect.map((now) => AsyncActionId.make(deps.simulator.accept(now, request))),
    Effect.flatMap((id) =>
      Effect.map(
        respondWith(AsyncActionAccepted, 202, "accepted")(new AsyncActionAccepted({ async_action_id: id })),
        (reply): Reply => ({ ...reply, asyncActionId: id })
      )
    )
  )

/** `GET /v1/async-actions/{id}`. */
export const getAsyncAction = (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  Effect.flatMap(deps.now, (now) => {
    const id = exchange.params["id"] ?? ""
    const action = deps.simulator.getAction(now, id)
    return action === undefined
      ? Effect.succeed(notFound(`Cannot find async_action with id ${id}`, { id, type: "async_action" }))
      : ok(AsyncAction)(action)
  })

/** `GET /v1/async-actions?limit=&end_date=`: newest first, without results. */
export const listAsyncActions = (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  Effect.flatMap(deps.now, (now) => {
    const limitParam = exchange.query.get("limit")
    // The API's default page size for lists.
    const limit = limitParam === null ? 10 : Number(limitParam)
    const refused = checkListLimit(limit)
    if (refused) {
      return Effect.succeed(invalid(`${refused.path}=${limitParam}: ${refused.reason}`, "invalid_query_params"))
    }
    const endParam = exchange.query.get("end_date")
    const end = endParam === null ? undefined : Date.parse(endParam)
    if (Number.isNaN(end)) {
      return Effect.succeed(invalid(`end_date must be an ISO 8601 date, got ${endParam}`, "invalid_query_params"))
    }
    return ok(AsyncActionList)(deps.simulator.list(now, limit, end))
  })

const recordKinds: { readonly [K in Target]: { readonly object: string; readonly idField: string; readonly prefix: string } } = {
  products: { object: "product", idField: "source_id", prefix: "prod_" },
  customers: { object: "customer", idField: "source_id", prefix: "cust_" },
  vouchers: { object: "voucher", idField: "code", prefix: "v_" }
}

/** A stable made-up id, so that records need not store one. */
const fakeId = (prefix: string, key: string) => {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return `${prefix}${(hash >>> 0).toString(16).padStart(8, "0")}`
}

/** `GET /v1/{target}/{id}`: the record with its metadata. */
export const getRecord = (target: Target) => (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  Effect.map(deps.now, (now) => {
    const id = exchange.params["id"] ?? ""
    const kind = recordKinds[target]
    const records = deps.simulator.records(now)
    const metadata = records.get(target, id)
    return metadata === undefined
      ? notFound(`Cannot find ${kind.object} with id ${id}`, { id, type: kind.object })
      : respond(200, {
        id: fakeId(kind.prefix, id),
        [kind.idField]: id,
        object: kind.object,
        ...records.fields(target, id),
        metadata
      }, "ok")
  })

/** The OAuth scopes the documentation lists for the server-side API. */
const knownScopes: ReadonlySet<string> = new Set([
  "api",
  "assets",
  "async-actions",
  "campaigns",
  "categories",
  "consents",
  "customers",
  "events",
  "exports",
  "locations",
  "loyalties",
  "metadata-schemas",
  "orders",
  "product-collections",
  "products",
  "promotions",
  "publications",
  "qualifications",
  "redemptions",
  "referrals",
  "rewards",
  "segments",
  "skus",
  "task-results",
  "templates",
  "trash-bin",
  "validation-rules",
  "validation-rules-assignments",
  "validations",
  "vouchers"
])

/** `POST /v1/oauth/token` with a form body, authenticated with the app keys. */
export const issueToken = (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  withBody(exchange, deps, (text) =>
    Effect.gen(function*() {
      const form = new URLSearchParams(text)
      if (form.get("grant_type") !== "client_credentials") {
        return invalid(`grant_type must be client_credentials, got ${form.get("grant_type")}`, "invalid_grant_type")
      }
      const scopes = (form.get("scope") ?? "").split(" ").filter((scope) => scope.length > 0)
      const unknown = scopes.filter((scope) => !knownScopes.has(scope))
      if (scopes.length === 0 || unknown.length > 0) {
        return invalid(
          scopes.length === 0 ? "scope is required" : `unknown scope: ${unknown.join(" ")}`,
          "invalid_scope"
        )
      }
      const now = yield* deps.now
      const expiresAtMillis = now + Duration.toMillis(deps.tokenTtl)
      for (const [token, issued] of deps.tokens) {
        if (issued.expiresAtMillis <= now) deps.tokens.delete(token)
      }
      const accessToken = randomHex(24)
      deps.tokens.set(accessToken, { expiresAtMillis, scopes: new Set(scopes) })
      return respond(200, {
        access_token: accessToken,
        client_id: deps.appId,
        expires_at: Math.floor(expiresAtMillis / 1000),
        expires_in: Math.round(Duration.toSeconds(deps.tokenTtl)),
        scope: scopes.join(" "),
        token_type: "Bearer"
      }, "ok")
    }))

/** `GET /v1/async-actions-reports/{action id}.csv?token=`: the report file, as CSV, while it is available. */
export const getReport = (exchange: Exchange, deps: Deps): Effect.Effect<Reply> =>
  Effect.map(deps.now, (now): Reply => {
    const file = exchange.params["file"] ?? ""
    const found = deps.simulator.report(now, file.replace(/\.csv$/, ""), exchange.query.get("token") ?? "")
    switch (found._tag) {
      case "Found":
        return {
          _tag: "Respond",
          response: HttpServerResponse.uint8Array(found.csv, { status: 200, contentType: "text/csv; charset=utf-8" }),
          outcome: "ok"
        }
      case "Expired":
        return respond(410, apiErrorBody(410, "gone", "Gone", `The report ${file} is no longer available`), "not_found")
      case "NotFound":
        return notFound(`Cannot find report ${file}`)
    }
  })

/** Anything else. */
export const routeNotFound = (exchange: Exchange): Effect.Effect<Reply> =>
  Effect.succeed(notFound(`Cannot ${exchange.method} ${exchange.path}`))
