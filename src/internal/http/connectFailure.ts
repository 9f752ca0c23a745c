/**
 * Which transport failures mean that no connection was ever made (nothing
 * was sent): the library classifies them as `TransportError` `Connect`, and
 * the CLI says that it cannot reach the server while the retries go on.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"

/** The innermost error of a transport failure: undici's own, or the one behind fetch's "fetch failed". */
export const innermost = (cause: unknown): unknown => {
  let inner = cause
  for (let depth = 0; depth < 3 && Predicate.hasProperty(inner, "cause") && inner.cause !== undefined; depth++) {
    inner = inner.cause
  }
  return inner
}

/** Node's codes for a connection that was never made: nothing was sent. */
const notConnected: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])

/** The error code of the innermost cause, if it has one. */
export const codeOf = (inner: unknown): string | undefined =>
  Predicate.hasProperty(inner, "code") && typeof inner.code === "string" ? inner.code : undefined

/** Whether the code says that no connection was made. */
export const isNotConnected = (code: string | undefined): boolean => code !== undefined && notConnected.has(code)
