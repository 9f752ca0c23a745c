/**
 * The wire-level pieces of the mock server: reading a body under a size
 * limit without buffering more than it, closing or resetting a connection,
 * and the bodies Voucherify answers with.
 *
 * @internal
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"

export const randomHex = (bytes: number): string => randomBytes(bytes).toString("hex")

export const newRequestId = (): string => `v-${randomHex(11)}`

/** The documented gateway answer to a body over the limit. */
export const payloadTooLargeBody = (limit: number) => ({
  statusCode: 413,
  error: "Request Entity Too Large",
  message: `Payload content length greater than maximum allowed: ${limit}`
})

export const unauthorizedBody = { code: 401, message: "Unauthorized", key: "unauthorized" } as const

export const tooManyRequestsBody = { code: 429, message: "Too many requests hit the API too quickly." } as const

/** Voucherify's usual error body. */
export const apiErrorBody = (
  code: number,
  key: string,
  message: string,
  details: string,
  extra: { readonly resource_id?: string; readonly resource_type?: string } = {}
) => ({ code, key, message, details, request_id: newRequestId(), ...extra })

export type BodyRead =
  | { readonly _tag: "Body"; readonly bytes: Buffer }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Aborted" }

/**
 * Reads the request body, counting bytes as they arrive, and stops reading
 * the moment it grows past `limit` (a chunked body has no Content-Length to
 * refuse up front). Nothing beyond `limit` bytes is kept.
 */
export const readBody = (
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
export const closeAfterResponse = (request: HttpServerRequest.HttpServerRequest): void => {
  const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
  NodeHttpServerRequest.toServerResponse(request).once("finish", () => socket.destroy())
}

/**
 * After cutting off a chunked body, reads the rest and drops it (nothing is
 * kept) for at most `lingerBytes` or 5 seconds, then closes. Closing at once
 * would make a client that is still uploading fail on the reset before it
 * reads the 413 already waiting for it.
 */
export const drainAfterResponse = (request: HttpServerRequest.HttpServerRequest, lingerBytes: number): void => {
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
export const resetConnection = (request: HttpServerRequest.HttpServerRequest): void => {
  NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
}

/** The port the request came in on, to build a redirect to another loopback address. */
export const localPort = (request: HttpServerRequest.HttpServerRequest): number | undefined =>
  NodeHttpServerRequest.toIncomingMessage(request).socket.localPort

const maskedHeaders: ReadonlySet<string> = new Set(["x-app-token", "authorization"])

/** Headers for the request log, secrets masked (the scheme of `Authorization` kept). */
export const maskHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!maskedHeaders.has(name)) {
      out[name] = value
    } else {
      const scheme = name === "authorization" ? value.split(" ")[0] : undefined
      out[name] = scheme !== undefined && scheme !== value ? `${scheme} <redacted>` : "<redacted>"
    }
  }
  return out
}

const htmlPage = (status: number, title: string) =>
  `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`

const statusTitles: Readonly<Record<number, string>> = {
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out"
}

/** A 5xx body of the requested shape: Voucherify's JSON, the gateway's JSON, an HTML page or nothing. */
export const serverErrorBody = (
  status: number,
  shape: "json" | "gateway" | "html" | "empty"
): { readonly contentType: string; readonly text: string } => {
  const title = statusTitles[status] ?? "Server Error"
  switch (shape) {
    case "json":
      return {
        contentType: "application/json",
        text: JSON.stringify(apiErrorBody(status, "internal_server_error", title, "Mock fault injected"))
      }
    case "gateway":
      return {
        contentType: "application/json",
        text: JSON.stringify({ statusCode: status, error: title, message: "Mock fault injected" })
      }
    case "html":
      return { contentType: "text/html", text: htmlPage(status, title) }
    case "empty":
      return { contentType: "text/plain", text: "" }
  }
}
