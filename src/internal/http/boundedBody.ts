/**
 * The JSON answer of a bulk call or an async action, read with a size
 * limit: Voucherify's are a few hundred bytes, and a body past the limit (a
 * proxy's page, a hostile server, an endless stream) is not read further,
 * so that memory stays bounded whatever comes back.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ResponseDecodeError } from "../../VoucherifyError.js"

const utf8 = new TextDecoder("utf-8")

const tooLarge = (status: number, limit: number, said?: number) =>
  new ResponseDecodeError({
    status,
    description: `the answer is larger than ${limit} bytes (maxResponseBytes)${
      said !== undefined ? `: its Content-Length says ${said}` : ""
    }; it was not read further`,
    limit
  })

const decodeError = (status: number, description: string) =>
  new ResponseDecodeError({ status, description: description.length > 300 ? `${description.slice(0, 300)}…` : description })

/**
 * The body's bytes, at most `limit` of them: a `Content-Length` past it
 * fails before any byte is read, and a body that grows past it fails as
 * soon as it does (the stream is closed, and the connection with it).
 */
export const readBytes = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<Uint8Array, ResponseDecodeError> =>
  Effect.suspend(() => {
    const { status } = response
    const said = Number(response.headers["content-length"])
    if (Number.isFinite(said) && said > limit) return Effect.fail(tooLarge(status, limit, said))
    const parts: Array<Uint8Array> = []
    let total = 0
    return response.stream.pipe(
      Stream.runForEachWhile((part) =>
        Effect.sync(() => {
          total += part.byteLength
          if (total > limit) return false
          parts.push(part)
          return true
        })
      ),
      Effect.mapError((error) => decodeError(status, error.message)),
      Effect.flatMap(() => {
        if (total > limit) return Effect.fail(tooLarge(status, limit))
        return Effect.succeed(parts.length === 1 ? parts[0]! : Buffer.concat(parts, total))
      })
    )
  })

/** The body as JSON (an empty body is `null`, as the platform reads it), at most `limit` bytes of it. */
export const readJson = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<unknown, ResponseDecodeError> =>
  Effect.flatMap(readBytes(response, limit), (bytes) =>
    Effect.try({
      try: () => {
        const text = utf8.decode(bytes)
        return text === "" ? null : JSON.parse(text) as unknown
      },
      catch: (error) => decodeError(response.status, error instanceof Error ? error.message : String(error))
    }))

/**
 * The start of a body, at most `limit` bytes of it, as text; the rest is not
 * read (an error page is worth its first lines). A body that cannot be read
 * is empty.
 */
export const readTextPrefix = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<string> =>
  Effect.suspend(() => {
    const parts: Array<Uint8Array> = []
    let total = 0
    return response.stream.pipe(
      Stream.runForEachWhile((part) =>
        Effect.sync(() => {
          const room = limit - total
          parts.push(part.byteLength <= room ? part : part.subarray(0, room))
          total += Math.min(part.byteLength, room)
          return total < limit
        })
      ),
      Effect.orElse(() => Effect.void),
      Effect.map(() => utf8.decode(Buffer.concat(parts, total)))
    )
  })
