/**
 * Validation and exact measurement of bulk request bodies. Plain code on
 * purpose: the bulk engine calls it once per id, millions of times.
 *
 * @internal
 */
import { InvalidRequestError, PayloadTooLargeError } from "../../VoucherifyError.js"
import { type BulkTarget, bulkTargets, type Metadata } from "../../VoucherifySchema.js"
import { controlAt, controlReason } from "./idLines.js"

/**
 * A body ready to send: validated, serialized and measured. Only this module
 * and the bulk engine build them, so a body that reaches the wire has always
 * been checked against the limit.
 */
export interface EncodedBulkRequest {
  readonly target: BulkTarget
  /** The exact bytes of the JSON body. */
  readonly body: Uint8Array
  /** How many ids the body names. */
  readonly ids: number
}

const printableAscii = /^[\x20\x21\x23-\x5b\x5d-\x7f]*$/

/**
 * The UTF-8 byte length of `JSON.stringify(s)`, quotes included, for any
 * string: quotes and backslashes take two bytes, control characters two or six
 * (`\n` or `\u0001`), a surrogate pair four, and a lone surrogate six, because
 * `JSON.stringify` escapes it as `\udxxx`.
 */
export const jsonStringBytes = (s: string): number =>
  // Most ids are printable ASCII without quotes or backslashes: one byte a
  // character. V8's regex engine checks that about twice as fast as the loop.
  printableAscii.test(s) ? s.length + 2 : escapedBytes(s)

const escapedBytes = (s: string): number => {
  let bytes = 2
  const length = s.length
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) {
      if (c >= 0x20) {
        bytes += c === 0x22 || c === 0x5c ? 2 : 1
      } else {
        // \b \t \n \f \r have two-character escapes, the rest are \u00XX
        bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6
      }
    } else if (c < 0x800) {
      bytes += 2
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < length ? s.charCodeAt(i + 1) : 0
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else {
        bytes += 6
      }
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      bytes += 6
    } else {
      bytes += 3
    }
  }
  return bytes
}

/** The UTF-8 byte length of a string as `TextEncoder` writes it. */
export const utf8Bytes = (s: string): number => Buffer.byteLength(s, "utf8")

export const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const describeValue = (u: unknown): string => {
  if (u === null) return "null"
  if (Array.isArray(u)) return "an array"
  if (typeof u === "object") {
    const proto: unknown = Object.getPrototypeOf(u)
    // `{ __proto__: {...} }` in an object literal (or a parse that copies keys
    // into a new object) sets the prototype: no key is left to send
    if (proto !== null && Object.getPrototypeOf(proto) === Object.prototype && !Object.hasOwn(proto as object, "constructor")) {
      return `an object whose prototype is another object (a "__proto__" key sets the prototype in JavaScript, it is not sent as a key)`
    }
    return `an instance of ${(u as object).constructor?.name ?? "an unknown class"}`
  }
  if (typeof u === "number") return String(u)
  return `a ${typeof u}`
}

/**
 * Checks that a metadata value survives `JSON.stringify` unchanged: plain
 * objects, arrays, strings, finite numbers, booleans and null, no cycles.
 * Anything JSON would drop or mangle silently (undefined, functions, NaN,
 * Maps) is refused, because silently dropping a customer's data is worse
 * than refusing it.
 */
const checkJsonValue = (
  value: unknown,
  path: string,
  ancestors: Set<object>
): InvalidRequestError | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value)
        ? undefined
        : new InvalidRequestError({ path, reason: `${value} cannot be encoded as JSON` })
    case "bigint":
      return new InvalidRequestError({ path, reason: "a BigInt cannot be encoded as JSON; pass a string or a number" })
    case "object": {
      if (value === null) return undefined
      if (ancestors.has(value)) {
        return new InvalidRequestError({ path, reason: "the value refers to itself (a cycle), which JSON cannot encode" })
      }
      if (value instanceof Date) {
        return Number.isNaN(value.getTime())
          ? new InvalidRequestError({ path, reason: "an invalid Date cannot be encoded as JSON" })
          : undefined
      }
      ancestors.add(value)
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const error = checkJsonValue(value[i], `${path}[${i}]`, ancestors)
            if (error) return error
          }
          return undefined
        }
        if (!isPlainObject(value)) {
          return new InvalidRequestError({ path, reason: `${describeValue(value)} is not a JSON value` })
        }
        for (const key of Object.keys(value)) {
          const error = checkJsonValue(value[key], `${path}.${key}`, ancestors)
          if (error) return error
        }
        return undefined
      } finally {
        ancestors.delete(value)
      }
    }
    default:
      return new InvalidRequestError({ path, reason: `${describeValue(value)} cannot be encoded as JSON` })
  }
}

/**
 * Validates bulk metadata and returns its JSON text: it must be a plain JSON
 * object (not null, not an array) whose values JSON encodes faithfully.
 */
export const encodeMetadata = (metadata: unknown): InvalidRequestError | string => {
  if (!isPlainObject(metadata)) {
    return new InvalidRequestError({
      path: "metadata",
      reason: `must be a JSON object, got ${describeValue(metadata)}`
    })
  }
  const error = checkJsonValue(metadata, "metadata", new Set())
  return error ?? JSON.stringify(metadata)
}

/** The reason an id is refused, or undefined for a valid id. */
export const invalidIdReason = (id: unknown): string | undefined => {
  if (typeof id !== "string") return `must be a string, got ${describeValue(id)}`
  if (id.length === 0) return "must not be empty"
  return undefined
}

/** The bytes of a body around its ids: `{"source_ids":[` + `],"metadata":…}`. */
export const bodyFrame = (field: "source_ids" | "codes", metadataJson: string) => {
  const head = `{"${field}":[`
  const tail = `],"metadata":${metadataJson}}`
  return { head, tail, bytes: utf8Bytes(head) + utf8Bytes(tail) }
}

const encoder = new TextEncoder()

/**
 * Validates a whole bulk request and serializes it, refusing it before
 * anything is sent when it is malformed or larger than `maxBytes`.
 */
export const encodeBulkRequest = (
  target: BulkTarget,
  ids: ReadonlyArray<string>,
  metadata: Metadata,
  maxBytes: number
): InvalidRequestError | PayloadTooLargeError | EncodedBulkRequest => {
  const field = bulkTargets[target].field
  if (ids.length === 0) {
    return new InvalidRequestError({ path: field, reason: "must name at least one id" })
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    const reason = id.length === 0 ? "must not be empty" : controlAt(id) === -1 ? undefined : controlReason(id, "the id")
    if (reason !== undefined) return new InvalidRequestError({ path: `${field}[${i}]`, reason, offset: i })
  }
  const metadataJson = encodeMetadata(metadata)
  if (typeof metadataJson !== "string") return metadataJson
  const frame = bodyFrame(field, metadataJson)
  const body = encoder.encode(frame.head + JSON.stringify(ids).slice(1, -1) + frame.tail)
  if (body.byteLength > maxBytes) {
    return new PayloadTooLargeError({ source: "local", bytes: body.byteLength, limit: maxBytes })
  }
  return { target, body, ids: ids.length }
}

/**
 * An async action id goes into a URL path: refuse anything that would
 * change the path (a slash, a query, whitespace) before it is sent.
 */
export const checkAsyncActionId = (id: string): InvalidRequestError | undefined =>
  id.length === 0 || /[/?#\s%]/.test(id)
    ? new InvalidRequestError({ path: "id", reason: `"${id}" is not an async action id` })
    : undefined

/** `GET /v1/async-actions` takes a `limit` from 1 to 100. */
export const checkListLimit = (limit: number | undefined): InvalidRequestError | undefined =>
  limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)
    ? new InvalidRequestError({ path: "limit", reason: `must be an integer from 1 to 100, got ${limit}` })
    : undefined
