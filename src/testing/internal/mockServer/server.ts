/**
 * Wires the mock server: the router, the gateway checks every request goes
 * through, fault injection around them, and the service tests read from.
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { createServer } from "node:http"
import type { Socket } from "node:net"
import type { InvalidRequestError } from "../../../VoucherifyError.js"
import type { Fault, Options, RecordedRequest, Service } from "../../MockVoucherifyServer.js"
import { decode } from "../schemas.js"
import { makeSimulator, storedRecord } from "../simulator.js"
import * as Endpoints from "./endpoints.js"
import { Faults, makeFaultPicker } from "./faults.js"
import * as Http from "./http.js"
import { Options as CheckedOptions } from "./options.js"
import { makeRateLimiter } from "./rateLimit.js"

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

interface Route {
  readonly method: "GET" | "POST" | "*"
  readonly path: HttpLayerRouter.PathInput
  /** Counts against the bulk quotas. */
  readonly bulk: boolean
  /** The token endpoint takes the app keys only. */
  readonly bearer: boolean
  readonly handle: (exchange: Endpoints.Exchange, deps: Endpoints.Deps) => Effect.Effect<Endpoints.Reply>
}

const routes: ReadonlyArray<Route> = [
  ...(["products", "customers", "vouchers"] as const).flatMap((target): ReadonlyArray<Route> => [
    { method: "POST", path: `/v1/${target}/metadata/async`, bulk: true, bearer: true, handle: Endpoints.bulkUpdate(target) },
    { method: "POST", path: `/v1/${target}/bulk/async`, bulk: true, bearer: true, handle: Endpoints.bulkRecords(target) },
    { method: "GET", path: `/v1/${target}/:id`, bulk: false, bearer: true, handle: Endpoints.getRecord(target) }
  ]),
  { method: "GET", path: "/v1/async-actions/:id", bulk: false, bearer: true, handle: Endpoints.getAsyncAction },
  { method: "GET", path: "/v1/async-actions", bulk: false, bearer: true, handle: Endpoints.listAsyncActions },
  { method: "GET", path: `${Endpoints.reportsPath}/:file`, bulk: false, bearer: true, handle: Endpoints.getReport },
  { method: "POST", path: "/v1/oauth/token", bulk: false, bearer: false, handle: Endpoints.issueToken },
  { method: "*", path: "*", bulk: false, bearer: true, handle: Endpoints.routeNotFound }
]

/** The faults that answer instead of the endpoint, before anything is processed. */
type EarlyFault = Extract<Fault, { readonly _tag: "ResetBeforeBody" | "ServerError" | "RateLimited" | "Redirect" }>

const isEarly = (fault: Fault | undefined): fault is EarlyFault =>
  fault !== undefined && fault._tag !== "ResetAfterProcessing" && fault._tag !== "Delay" && fault._tag !== "MalformedJson"

const earlyReply = (fault: EarlyFault, request: HttpServerRequest.HttpServerRequest, nowMillis: number): Endpoints.Reply => {
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
          headers: { location: fault.location ?? `http://127.0.0.2:${Http.localPort(request)}${request.url}` }
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

export const make = (
  options: Options
): Effect.Effect<Service, HttpServerError.ServeError | InvalidRequestError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = yield* decode(CheckedOptions)(options)
    const appId = options.appId ?? "mock-app-id"
    const appToken = options.appToken === undefined
      ? Redacted.make("mock-app-token")
      : Redacted.isRedacted(options.appToken)
      ? options.appToken
      : Redacted.make(options.appToken)
    const { maxPayloadBytes, maxRecordedRequests: maxRecorded } = checked
    // Captured once: state reads from a test's fiber see the clock the requests see.
    const clock = yield* Effect.clock
    const now = clock.currentTimeMillis
    // the address is known once the server listens, before any action can finish
    let baseUrl = ""
    const simulator = makeSimulator({
      records: options.records,
      processingMillis: Duration.toMillis(checked.processingDelay),
      maxResultErrors: checked.maxResultErrors,
      reportUrl: (actionId, token) =>
        `${options.reportOrigin ?? baseUrl}${Endpoints.reportsPath}/${actionId}.csv?token=${token}`,
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
        const headers = exchange.request.headers
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

    /** Applies the faults that act once the request was processed, and answers. */
    const send = (
      request: HttpServerRequest.HttpServerRequest,
      entry: Mutable<RecordedRequest>,
      reply: Endpoints.Reply,
      fault: Fault | undefined
    ) =>
      Effect.gen(function*() {
        if (reply._tag === "Respond") entry.asyncActionId = reply.asyncActionId
        if (reply._tag === "Drop" || fault?._tag === "ResetAfterProcessing") {
          entry.outcome = reply.outcome
          Http.resetConnection(request)
          // closing the socket interrupts this fiber
          return yield* Effect.never
        }
        // a client that gives up while the answer is held back is logged as client_aborted
        if (fault?._tag === "Delay") yield* Effect.sleep(fault.duration)
        const status = reply.response.status
        entry.outcome = reply.outcome
        entry.status = status
        if (reply.after === "close") Http.closeAfterResponse(request)
        if (reply.after === "drain") Http.drainAfterResponse(request, 2 * maxPayloadBytes)
        return fault?._tag === "MalformedJson" && status < 300 ? cutOff(reply.response) : reply.response
      })

    const startEntry = (request: HttpServerRequest.HttpServerRequest): Mutable<RecordedRequest> => {
      const entry: Mutable<RecordedRequest> = {
        seq: ++seq,
        method: request.method,
        // a report's token is a secret like the keys
        url: request.url.replace(/([?&]token=)[^&]*/, "$1<redacted>"),
        headers: Http.maskHeaders(request.headers),
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

    const handler = (route: Route) => (request: HttpServerRequest.HttpServerRequest) =>
      Effect.suspend(() => {
        const entry = startEntry(request)
        return Effect.gen(function*() {
          const path = request.url.split("?")[0] ?? "/"
          const fault = yield* faults.pick(request.method, path)
          entry.fault = fault?._tag
          const exchange: Endpoints.Exchange = {
            request,
            path,
            query: new URLSearchParams(request.url.slice(path.length + 1)),
            params: yield* HttpLayerRouter.params,
            readBody: Http.readBody(request, maxPayloadBytes, (bytes) => {
              entry.bodyBytes += bytes
            })
          }
          const reply = isEarly(fault)
            ? earlyReply(fault, request, yield* now)
            : yield* gateway(route, exchange)
          return yield* send(request, entry, reply, fault)
        }).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              if (entry.outcome === "pending") entry.outcome = "client_aborted"
            })
          )
        )
      })

    // Count the bytes read off every connection, to show that a refused body stays unread.
    const nodeServer = createServer()
    const sockets = new Set<Socket>()
    let closedBytes = 0
    nodeServer.on("connection", (socket: Socket) => {
      sockets.add(socket)
      socket.once("close", () => {
        closedBytes += socket.bytesRead
        sockets.delete(socket)
      })
    })
    const totalBytes = () => {
      let total = closedBytes
      for (const socket of sockets) total += socket.bytesRead
      return total
    }
    let bytesBaseline = 0

    const app = HttpLayerRouter.addAll(
      routes.map((route) => HttpLayerRouter.route(route.method, route.path, handler(route)))
    )
    const context = yield* Layer.build(
      HttpLayerRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provideMerge(NodeHttpServer.layer(() => nodeServer, {
          port: options.port ?? 0,
          host: options.host ?? "127.0.0.1"
        })),
        // the server's own spans would put its keys and report tokens into the program's traces
        HttpMiddleware.withTracerDisabledWhen(() => true)
      )
    )
    // Before the server's own close, which would wait for open connections.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const host = address._tag === "TcpAddress" && address.hostname.includes(":")
      ? `[${address.hostname}]`
      : address._tag === "TcpAddress"
      ? address.hostname
      : "localhost"

    baseUrl = `http://${host}:${port}`
    return {
      baseUrl,
      port,
      appId,
      appToken,
      getMetadata: (target, id) => Effect.map(now, (at) => Option.fromNullable(simulator.records(at).get(target, id))),
      getRecord: (target, id) => Effect.map(now, (at) => storedRecord(simulator.records(at), target, id)),
      count: (target) => Effect.map(now, (at) => simulator.records(at).count(target)),
      checkMetadata: (target, ids, expected) => Effect.map(now, (at) => simulator.records(at).check(target, ids, expected)),
      requests: Effect.sync(() => log.map((entry) => ({ ...entry }))),
      asyncActions: Effect.map(now, simulator.actions),
      bytesReceived: Effect.sync(() => totalBytes() - bytesBaseline),
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
        bytesBaseline = totalBytes()
      })
    }
  })
