/**
 * The one implementation of the Voucherify API that both test doubles
 * serve: routing, the gateway's checks (size, credentials, quotas), fault
 * injection around them, the endpoints over the simulator, the request log,
 * and the reads tests make. It knows no socket: an edge hands it a request
 * and carries out its reply, the loopback server (`server.ts`) on a Node
 * connection, `VoucherifyTest` (`inProcess.ts`) as an in-process
 * `HttpClient`.
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { Metadata } from "../../../VoucherifySchema.js"
import type { Fault, RecordedRequest, SeedRecords, Service, Target } from "../../MockVoucherifyServer.js"
import { decode } from "../schemas.js"
import { makeSimulator, storedRecord } from "../simulator.js"
import * as Endpoints from "./endpoints.js"
import { Faults, makeFaultPicker } from "./faults.js"
import * as Http from "./http.js"
import type { Options as CheckedOptions } from "./options.js"
import { makeRateLimiter } from "./rateLimit.js"

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/** One request as an edge hands it over. */
export interface Incoming {
  readonly method: string
  /** Path and query. */
  readonly url: string
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  /** Reads the body, stopping past `limit`; `onBytes` counts bytes as they arrive. */
  readonly readBody: (limit: number, onBytes: (bytes: number) => void) => Effect.Effect<Http.BodyRead>
  /** The default target of a `Redirect` fault: another loopback address. */
  readonly redirectOrigin: string
}

export interface HandlerOptions {
  readonly checked: typeof CheckedOptions.Type
  readonly records: { readonly [K in Target]?: SeedRecords | undefined } | undefined
  readonly appId: string
  readonly appToken: Redacted.Redacted<string>
  /** The origin report URLs name; read when an action ends. */
  readonly reportOrigin: () => string
  /** The time every request and read sees. */
  readonly now: Effect.Effect<number>
}

/** The reads and controls of {@link Service} that do not depend on a socket. */
export type Inspect = Omit<Service, "baseUrl" | "port" | "appId" | "appToken" | "bytesReceived">

export interface Handler {
  /** Answers one request: a response (the edge then closes or drains if `after` says so), or a dropped connection. */
  readonly handle: (incoming: Incoming) => Effect.Effect<Endpoints.Reply>
  readonly inspect: Inspect
  /** The records of one kind, as of now. */
  readonly records: (target: Target) => Effect.Effect<ReadonlyMap<string, Metadata>>
}

interface Route {
  readonly method: "GET" | "POST" | "*"
  /** Matched against the whole path; its named groups are the parameters. */
  readonly path: RegExp
  /** Counts against the bulk quotas. */
  readonly bulk: boolean
  /** The token endpoint takes the app keys only. */
  readonly bearer: boolean
  readonly handle: (exchange: Endpoints.Exchange, deps: Endpoints.Deps) => Effect.Effect<Endpoints.Reply>
}

const routes: ReadonlyArray<Route> = [
  ...(["products", "customers", "vouchers"] as const).flatMap((target): ReadonlyArray<Route> => [
    {
      method: "POST",
      path: new RegExp(`^/v1/${target}/metadata/async$`),
      bulk: true,
      bearer: true,
      handle: Endpoints.bulkUpdate(target)
    },
    {
      method: "POST",
      path: new RegExp(`^/v1/${target}/bulk/async$`),
      bulk: true,
      bearer: true,
      handle: Endpoints.bulkRecords(target)
    },
    { method: "GET", path: new RegExp(`^/v1/${target}/(?<id>[^/]+)$`), bulk: false, bearer: true, handle: Endpoints.getRecord(target) }
  ]),
  { method: "GET", path: /^\/v1\/async-actions\/(?<id>[^/]+)$/, bulk: false, bearer: true, handle: Endpoints.getAsyncAction },
  { method: "GET", path: /^\/v1\/async-actions$/, bulk: false, bearer: true, handle: Endpoints.listAsyncActions },
  {
    method: "GET",
    path: /^\/v1\/async-actions-reports\/(?<file>[^/]+)$/,
    bulk: false,
    bearer: true,
    handle: Endpoints.getReport
  },
  { method: "POST", path: /^\/v1\/oauth\/token$/, bulk: false, bearer: false, handle: Endpoints.issueToken },
  { method: "*", path: /^/, bulk: false, bearer: true, handle: Endpoints.routeNotFound }
]

const decodeParam = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** The first route for the method and path, with its decoded parameters. */
const route = (method: string, path: string) => {
  for (const candidate of routes) {
    if (candidate.method !== "*" && candidate.method !== method) continue
    const match = candidate.path.exec(path)
    if (match === null) continue
    const params: Record<string, string> = {}
    for (const [name, value] of Object.entries(match.groups ?? {})) params[name] = decodeParam(value)
    return { route: candidate, params }
  }
  // unreachable: the last route matches everything
  throw new Error(`no route for ${method} ${path}`)
}

/** The faults that answer instead of the endpoint, before anything is processed. */
type EarlyFault = Extract<Fault, { readonly _tag: "ResetBeforeBody" | "ServerError" | "RateLimited" | "Redirect" }>

const isEarly = (fault: Fault | undefined): fault is EarlyFault =>
  fault !== undefined && (fault._tag === "ResetBeforeBody" || fault._tag === "ServerError" ||
    fault._tag === "RateLimited" || fault._tag === "Redirect")

const earlyReply = (fault: EarlyFault, incoming: Incoming, path: string, nowMillis: number): Endpoints.Reply => {
  switch (fault._tag) {
    case "ResetBeforeBody":
      return { _tag: "Drop", outcome: "fault" }
    case "ServerError": {
      const status = fault.status ?? 503
      const body = Http.serverErrorBody(
        status,
        fault.body ?? (status === 500 ? "json" : status === 503 ? "gateway" : "html")
      )
      return { _tag: "Respond", response: HttpServerResponse.text(body.text, { status, contentType: body.contentType }), outcome: "fault" }
    }
    case "RateLimited": {
      const wait = Duration.toMillis(Duration.decode(fault.retryAfter ?? Duration.seconds(1)))
      return Endpoints.respond(429, Http.tooManyRequestsBody, "fault", {
        "retry-after": String(Math.ceil(wait / 1000)),
        // rounded down, so that a zero wait is really no wait; Retry-After carries the rest
        "x-rate-limit-retry": String(Math.floor((nowMillis + wait) / 1000)),
        "x-rate-limit-type": fault.limitType ?? "api_calls"
      })
    }
    case "Redirect":
      return {
        _tag: "Respond",
        response: HttpServerResponse.text("", {
          status: fault.status ?? 307,
          contentType: "text/plain",
          headers: { location: fault.location ?? `${incoming.redirectOrigin}${path}` }
        }),
        outcome: "fault"
      }
  }
}

/** The first half of a body: JSON cut off midway. */
const cutOff = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  const body = response.body
  if (body._tag !== "Uint8Array") return response
  return HttpServerResponse.setBody(
    response,
    HttpBody.uint8Array(body.body.subarray(0, Math.ceil(body.body.length / 2)), body.contentType)
  )
}

const checkFaults = decode(Faults, "faults")

/** The `/v1/<segment>` that an OAuth scope of the same name opens. */
const scopeOf = (path: string) => path.split("/")[2] ?? ""

export const makeHandler = (options: HandlerOptions): Handler => {
  const { appId, appToken, checked, now } = options
  const { maxPayloadBytes, maxRecordedRequests: maxRecorded } = checked
  const simulator = makeSimulator({
    records: options.records,
    processingMillis: Duration.toMillis(checked.processingDelay),
    maxResultErrors: checked.maxResultErrors,
    reportUrl: (actionId, token) => `${options.reportOrigin()}${Endpoints.reportsPath}/${actionId}.csv?token=${token}`,
    reportTtlMillis: Duration.toMillis(checked.reportTtl)
  })
  const limiter = makeRateLimiter(checked.rateLimits)
  const faults = makeFaultPicker(checked.faults)
  const deps: Endpoints.Deps = {
    simulator,
    now,
    tokens: new Map(),
    appId,
    maxPayloadBytes,
    tokenTtl: checked.tokenTtl
  }
  let log: Array<Mutable<RecordedRequest>> = []
  let seq = 0

  const authenticate = (headers: Readonly<Record<string, string>>, route: Route, path: string, now: number) => {
    const authorization = headers["authorization"]
    if (route.bearer && authorization?.startsWith("Bearer ")) {
      const token = deps.tokens.get(authorization.slice(7))
      if (token === undefined || token.expiresAtMillis <= now) return "unauthorized"
      // report files stand for the download host, which takes any credential of the project
      return token.scopes.has("api") || token.scopes.has(scopeOf(path)) || path.startsWith(Endpoints.reportsPath)
        ? "ok"
        : "forbidden"
    }
    return headers["x-app-id"] === appId && headers["x-app-token"] === Redacted.value(appToken)
      ? "ok"
      : "unauthorized"
  }

  /** The gateway's checks, in its order, then the endpoint. */
  const gateway = (route: Route, exchange: Endpoints.Exchange) =>
    Effect.gen(function*() {
      const headers = exchange.headers
      // decided from the header alone: the body is never read
      if (Number(headers["content-length"] ?? 0) > maxPayloadBytes) {
        return Endpoints.payloadTooLarge(maxPayloadBytes, "close")
      }
      const at = yield* now
      const auth = authenticate(headers, route, exchange.path, at)
      if (auth === "unauthorized") return Endpoints.respond(401, Http.unauthorizedBody, "unauthorized")
      if (auth === "forbidden") {
        const body = Http.apiErrorBody(403, "forbidden", "Forbidden", `The token's scopes do not cover ${exchange.path}`)
        return Endpoints.respond(403, body, "forbidden")
      }
      const verdict = limiter.take(route.bulk, at)
      if (verdict._tag === "Limited") {
        return Endpoints.respond(429, Http.tooManyRequestsBody, "rate_limited", verdict.headers)
      }
      const reply = yield* route.handle(exchange, deps)
      return reply._tag === "Respond"
        ? { ...reply, response: HttpServerResponse.setHeaders(reply.response, verdict.headers) }
        : reply
    })

  /** Applies the faults that act once the request was processed, and logs how it ended. */
  const finish = (entry: Mutable<RecordedRequest>, reply: Endpoints.Reply, fault: Fault | undefined) =>
    Effect.gen(function*() {
      if (reply._tag === "Respond") entry.asyncActionId = reply.asyncActionId
      if (reply._tag === "Drop" || fault?._tag === "ResetAfterProcessing") {
        entry.outcome = reply.outcome
        return { _tag: "Drop", outcome: reply.outcome } satisfies Endpoints.Reply
      }
      // a client that gives up while the answer is held back is logged as client_aborted
      if (fault?._tag === "Delay") yield* Effect.sleep(fault.duration)
      const status = reply.response.status
      entry.outcome = reply.outcome
      entry.status = status
      return fault?._tag === "MalformedJson" && status < 300 ? { ...reply, response: cutOff(reply.response) } : reply
    })

  const startEntry = (incoming: Incoming): Mutable<RecordedRequest> => {
    const entry: Mutable<RecordedRequest> = {
      seq: ++seq,
      method: incoming.method,
      // a report's token is a secret like the keys
      url: incoming.url.replace(/([?&]token=)[^&]*/, "$1<redacted>"),
      headers: Http.maskHeaders(incoming.headers),
      bodyBytes: 0,
      status: undefined,
      outcome: "pending",
      fault: undefined,
      asyncActionId: undefined
    }
    log.push(entry)
    if (log.length > maxRecorded) log.shift()
    return entry
  }

  const handle = (incoming: Incoming): Effect.Effect<Endpoints.Reply> =>
    Effect.suspend(() => {
      const entry = startEntry(incoming)
      return Effect.gen(function*() {
        const path = incoming.url.split("?")[0] ?? "/"
        const fault = yield* faults.pick(incoming.method, path)
        entry.fault = fault?._tag
        const { params, route: matched } = route(incoming.method, path)
        const exchange: Endpoints.Exchange = {
          method: incoming.method,
          path,
          headers: incoming.headers,
          query: new URLSearchParams(incoming.url.slice(path.length + 1)),
          params,
          fault,
          readBody: incoming.readBody(maxPayloadBytes, (bytes) => {
            entry.bodyBytes += bytes
          })
        }
        const reply = isEarly(fault)
          ? earlyReply(fault, incoming, path, yield* now)
          : yield* gateway(matched, exchange)
        return yield* finish(entry, reply, fault)
      }).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            if (entry.outcome === "pending") entry.outcome = "client_aborted"
          })
        )
      )
    })

  const records = Effect.map(now, simulator.records)
  const inspect: Inspect = {
    getMetadata: (target, id) => Effect.map(records, (store) => Option.fromNullable(store.get(target, id))),
    getRecord: (target, id) => Effect.map(records, (store) => storedRecord(store, target, id)),
    count: (target) => Effect.map(records, (store) => store.count(target)),
    checkMetadata: (target, ids, expected) => Effect.map(records, (store) => store.check(target, ids, expected)),
    requests: Effect.sync(() => log.map((entry) => ({ ...entry }))),
    asyncActions: Effect.map(now, simulator.actions),
    setFaults: (next) =>
      next === undefined
        ? Effect.sync(() => faults.replace(undefined))
        : Effect.map(checkFaults(next), faults.replace),
    exhaustCycle: Effect.map(now, limiter.exhaustCycle),
    reset: Effect.sync(() => {
      simulator.reset()
      limiter.reset()
      faults.reset()
      deps.tokens.clear()
      log = []
      seq = 0
    })
  }
  return { handle, inspect, records: (target) => Effect.map(records, (store) => new Map(store.records(target))) }
}
