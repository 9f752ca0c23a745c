/**
 * A transport double: an `HttpClient` that answers from a script and records
 * every request it was given, so tests can check the exact wire request.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export type Reply =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> }
  | { readonly transportError: string }
  | { readonly hang: true }

const bodyText = (request: HttpClientRequest.HttpClientRequest): string => {
  switch (request.body._tag) {
    case "Uint8Array":
      return new TextDecoder().decode(request.body.body)
    case "Empty":
      return ""
    default:
      return `<${request.body._tag} body>`
  }
}

/**
 * Answers with `replies` in order (the last one repeats) and records the
 * requests. A reply body that is a string is sent as is, anything else as JSON.
 */
export const makeTransport = (replies: ReadonlyArray<Reply>) => {
  const requests: Array<RecordedRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const reply = replies[Math.min(requests.length, replies.length - 1)]
      requests.push({ method: request.method, url: url.toString(), headers: { ...request.headers }, body: bodyText(request) })
      if ("hang" in reply) return Effect.never
      if ("transportError" in reply) {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(reply.transportError) })
        )
      }
      const body = reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body)
      return Effect.succeed(
        HttpClientResponse.fromWeb(
          request,
          new Response(body, {
            status: reply.status,
            headers: { "content-type": "application/json", ...reply.headers }
          })
        )
      )
    })
  )
  return { requests, layer: Layer.succeed(HttpClient.HttpClient, client) }
}
