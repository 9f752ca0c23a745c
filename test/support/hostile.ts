/**
 * A loopback HTTP server that answers as a test scripts it, hostile answers
 * included (secrets echoed back, huge bodies, ids that are not path
 * segments), and records what it was asked and how many bytes it wrote.
 */
import * as Effect from "effect/Effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
}

export type Handler = (request: Seen & { readonly body: string }, response: ServerResponse) => void

export interface Hostile {
  readonly baseUrl: string
  /** Every request, in arrival order. */
  readonly requests: Array<Seen>
  /** Bytes the server's sockets wrote, the headers included. */
  readonly bytesWritten: () => number
}

/** A JSON answer. */
export const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

/**
 * A body of `total` bytes, a megabyte at a time as the client takes them:
 * it stops when the connection closes. `head` and `tail` wrap it (a JSON
 * string's quotes, say); `length` says a `Content-Length` of `total`.
 */
export const huge = (
  response: ServerResponse,
  options: { readonly status: number; readonly total: number; readonly head: string; readonly length?: boolean }
) => {
  const piece = Buffer.alloc(1 << 20, 0x61)
  response.writeHead(options.status, {
    "content-type": "application/json",
    ...(options.length === true ? { "content-length": String(options.total) } : {})
  })
  response.write(options.head)
  let sent = options.head.length
  const more = () => {
    while (sent < options.total && !response.destroyed) {
      const size = Math.min(piece.length, options.total - sent)
      sent += size
      if (!response.write(size === piece.length ? piece : piece.subarray(0, size))) return void response.once("drain", more)
    }
    if (!response.destroyed) response.end()
  }
  more()
}

/** The server, for the scope. */
export const hostile = (handle: Handler) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: ReturnType<typeof createServer>; readonly hostile: Hostile; readonly sockets: Set<Socket> }>(
      (resume) => {
        const requests: Array<Seen> = []
        const sockets = new Set<Socket>()
        let written = 0
        const server = createServer((request, response) => {
          const seen = { method: request.method ?? "", url: request.url ?? "", headers: request.headers }
          requests.push(seen)
          let body = ""
          request.on("data", (data) => (body += data))
          request.on("end", () => handle({ ...seen, body }, response))
        })
        server.on("connection", (socket) => {
          sockets.add(socket)
          socket.on("close", () => {
            written += socket.bytesWritten
            sockets.delete(socket)
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({
            server,
            sockets,
            hostile: {
              baseUrl: `http://127.0.0.1:${port}`,
              requests,
              bytesWritten: () => written + [...sockets].reduce((n, socket) => n + socket.bytesWritten, 0)
            }
          }))
        })
      }
    ),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ hostile }) => hostile))
