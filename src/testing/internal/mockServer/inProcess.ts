/**
 * The mock server's handler as an `HttpClient`, with no socket: a request
 * is handed to the handler in the caller's fiber (so that the caller's
 * `Clock`, a `TestClock` in tests, drives it), its body as the bytes the
 * client holds, and the reply comes back as a response. A dropped
 * connection is a transport error. `VoucherifyTest` runs `Voucherify.make`
 * over it.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { Handler } from "./handler.js"
import type { BodyRead } from "./http.js"

const noBody = new Uint8Array(0)

export const makeClient = (handler: Handler): HttpClient.HttpClient =>
  HttpClient.make((request, url) => {
    const body = request.body
    if (body._tag !== "Uint8Array" && body._tag !== "Empty") {
      const description = `the in-process client sends bytes, not a ${body._tag} body`
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", description }))
    }
    const bytes = body._tag === "Uint8Array" ? body.body : noBody
    const headers = body._tag === "Uint8Array"
      ? { ...request.headers, "content-type": body.contentType, "content-length": String(bytes.byteLength) }
      : request.headers
    const reply = handler.handle({
      method: request.method,
      url: `${url.pathname}${url.search}`,
      headers,
      readBody: (limit, onBytes) =>
        Effect.sync((): BodyRead => {
          onBytes(bytes.byteLength)
          return bytes.byteLength > limit ? { _tag: "TooLarge" } : { _tag: "Body", bytes }
        }),
      redirectOrigin: "http://127.0.0.2"
    })
    return Effect.flatMap(reply, (reply) =>
      reply._tag === "Drop"
        ? Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: new Error("the connection was closed without an answer")
          })
        )
        : Effect.succeed(HttpClientResponse.fromWeb(request, HttpServerResponse.toWeb(reply.response))))
  })
