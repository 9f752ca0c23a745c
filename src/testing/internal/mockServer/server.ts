/**
 * The loopback server: the mock server's handler on a Node HTTP server, and
 * what only a socket can do (read a body as it arrives, close or drain a
 * connection after answering, reset it, count the bytes read off it).
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { createServer } from "node:http"
import type { Socket } from "node:net"
import type { InvalidRequestError } from "../../../VoucherifyError.js"
import type { Options, Service } from "../../MockVoucherifyServer.js"
import { decode } from "../schemas.js"
import { makeHandler } from "./handler.js"
import type { BodyRead } from "./http.js"
import { Options as CheckedOptions } from "./options.js"

/**
 * Reads the request body, counting bytes as they arrive, and stops reading
 * the moment it grows past `limit` (a chunked body has no Content-Length to
 * refuse up front). Nothing beyond `limit` bytes is kept.
 */
const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number,
  onBytes: (bytes: number) => void
): Effect.Effect<BodyRead> =>
  Effect.async<BodyRead>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let total = 0
    const detach = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onAbort)
      incoming.off("close", onAbort)
    }
    const finish = (result: BodyRead) => {
      detach()
      resume(Effect.succeed(result))
    }
    const onData = (chunk: Buffer) => {
      total += chunk.length
      onBytes(chunk.length)
      if (total > limit) {
        incoming.pause()
        chunks.length = 0
        finish({ _tag: "TooLarge" })
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => finish({ _tag: "Body", bytes: Buffer.concat(chunks, total) })
    // "close" before "end": the client went away mid-body
    const onAbort = () => finish({ _tag: "Aborted" })
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onAbort)
    incoming.once("close", onAbort)
    return Effect.sync(detach)
  })

/**
 * Closes the connection as soon as the answer is written, so that the rest
 * of a body refused from its Content-Length is never read off the socket.
 */
const closeAfterResponse = (request: HttpServerRequest.HttpServerRequest): void => {
  const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
  NodeHttpServerRequest.toServerResponse(request).once("finish", () => socket.destroy())
}

/**
 * After cutting off a chunked body, reads the rest and drops it (nothing is
 * kept) for at most `lingerBytes` or 5 seconds, then closes. Closing at once
 * would make a client that is still uploading fail on the reset before it
 * reads the 413 already waiting for it.
 */
const drainAfterResponse = (request: HttpServerRequest.HttpServerRequest, lingerBytes: number): void => {
  const incoming = NodeHttpServerRequest.toIncomingMessage(request)
  const socket = incoming.socket
  NodeHttpServerRequest.toServerResponse(request).once("finish", () => {
    let drained = 0
    const timer = setTimeout(() => socket.destroy(), 5_000).unref()
    socket.once("close", () => clearTimeout(timer))
    incoming.on("data", (chunk: Buffer) => {
      drained += chunk.length
      if (drained > lingerBytes) socket.destroy()
    })
    incoming.resume()
  })
}

/** Drops the connection with no answer, as a crashed proxy would. */
const resetConnection = (request: HttpServerRequest.HttpServerRequest): void => {
  NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
}

/** The port the request came in on, to build a redirect to another loopback address. */
const localPort = (request: HttpServerRequest.HttpServerRequest): number | undefined =>
  NodeHttpServerRequest.toIncomingMessage(request).socket.localPort

export const make = (
  options: Options
): Effect.Effect<Service, HttpServerError.ServeError | InvalidRequestError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = yield* decode(CheckedOptions)(options)
    const appToken = options.appToken === undefined
      ? Redacted.make("mock-app-token")
      : Redacted.isRedacted(options.appToken)
      ? options.appToken
      : Redacted.make(options.appToken)
    // Captured once: state reads from a test's fiber see the clock the requests see.
    const clock = yield* Effect.clock
    // the address is known once the server listens, before any action can finish
    let baseUrl = ""
    const handler = makeHandler({
      checked,
      records: options.records,
      appId: options.appId ?? "mock-app-id",
      appToken,
      reportOrigin: () => options.reportOrigin ?? baseUrl,
      now: clock.currentTimeMillis
    })

    // interruptible: the server's fibers inherit the flags of the layer build, and a client that goes away interrupts one
    const app = Effect.interruptible(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.flatMap(
        handler.handle({
          method: request.method,
          url: request.url,
          headers: request.headers,
          readBody: (limit, onBytes) => readBody(request, limit, onBytes),
          redirectOrigin: `http://127.0.0.2:${localPort(request)}`
        }),
        (reply) => {
          if (reply._tag === "Drop") {
            resetConnection(request)
            // closing the socket interrupts this fiber
            return Effect.never
          }
          if (reply.after === "close") closeAfterResponse(request)
          if (reply.after === "drain") drainAfterResponse(request, 2 * checked.maxPayloadBytes)
          return Effect.succeed(reply.response)
        }
      )))

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

    const context = yield* Layer.build(
      HttpServer.serve(app).pipe(
        Layer.provideMerge(NodeHttpServer.layer(() => nodeServer, {
          port: checked.port,
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
      ...handler.inspect,
      baseUrl,
      port,
      appId: options.appId ?? "mock-app-id",
      appToken,
      bytesReceived: Effect.sync(() => totalBytes() - bytesBaseline),
      reset: Effect.zipRight(
        handler.inspect.reset,
        Effect.sync(() => {
          bytesBaseline = totalBytes()
        })
      )
    }
  })
