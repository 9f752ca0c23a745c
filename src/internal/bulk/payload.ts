/**
 * Validation and exact measurement of bulk request bodies. Plain code on
 * purpose: the bulk engine calls it once per id, millions of times.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { InvalidRequestError, PayloadTooLargeError } from "../../VoucherifyError.js"
import { AsyncActionId, type BulkTarget, type Metadata } from "../../VoucherifySchema.js"
import { bulkTargets } from "../bulkTargets.js"
import { describeValue, isPlainObject, jsonValueIssue } from "../jsonValue.js"

export { isPlainObject } from "../jsonValue.js"
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
  /**
   * The endpoint: `metadata` (default), `POST /v1/{target}/metadata/async`
   * with `{ids, metadata}`; or `records`, `POST /v1/{target}/bulk/async`
   * with an array of records.
   */
  readonly kind?: "metadata" | "records" | undefined
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
  const issue = jsonValueIssue(metadata, "metadata")
  return issue === undefined ? JSON.stringify(metadata) : new InvalidRequestError(issue)
}

/** The reason an id is refused, or undefined for a valid id. */
export const invalidIdReason = (id: unknown): string | undefined => {
  if (typeof id !== "string") return `must be a string, got ${describeValue(id)}`
  if (id.length === 0) return "must not be empty"
  return undefined
}

/**
 * What surrounds the items of a body: `head`, the items separated by commas,
 * `tail`. The metadata endpoint's is `{"source_ids":[` … `],"metadata":{…}}`;
 * the per-record endpoints' is `[` … `]`.
 */
export interface Frame {
  readonly head: string
  readonly tail: string
  /** Items are ids, written as JSON strings (`true`), or JSON text written as it is (`false`). */
  readonly quoted: boolean
  /** Names an item in an error's path: `source_ids[7]`. */
  readonly itemPath: string
  /** What else the body holds, for an error: "next to the metadata". */
  readonly beside: string
  /** The ids a body names, from its parsed JSON. */
  readonly idsOf: (body: unknown) => ReadonlyArray<string>
}

/** The frame of a metadata update: `{"<field>":[ids],"metadata":<metadataJson>}`. */
export const metadataFrame = (field: "source_ids" | "codes", metadataJson: string): Frame => ({
  head: `{"${field}":[`,
  tail: `],"metadata":${metadataJson}}`,
  quoted: true,
  itemPath: field,
  beside: "next to the metadata",
  idsOf: (body) => (body as Record<string, ReadonlyArray<string>>)[field]!
})

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
  const frame = metadataFrame(field, metadataJson)
  const body = encoder.encode(frame.head + JSON.stringify(ids).slice(1, -1) + frame.tail)
  if (body.byteLength > maxBytes) {
    return new PayloadTooLargeError({ source: "local", bytes: body.byteLength, limit: maxBytes })
  }
  return { target, body, ids: ids.length }
}

const isAsyncActionId = Schema.is(AsyncActionId)

/**
 * An async action id goes into a URL path with the credentials: the one
 * rule of `AsyncActionId` (one safe path segment: no `..`, `.`, slash,
 * query or escape), checked before anything is sent.
 */
export const checkAsyncActionId = (id: string): InvalidRequestError | undefined =>
  isAsyncActionId(id)
    ? undefined
    : new InvalidRequestError({ path: "id", reason: `${JSON.stringify(id)} is not an async action id` })

/** `GET /v1/async-actions` takes a `limit` from 1 to 100. */
export const checkListLimit = (limit: number | undefined): InvalidRequestError | undefined =>
  limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)
    ? new InvalidRequestError({ path: "limit", reason: `must be an integer from 1 to 100, got ${limit}` })
    : undefined
