/**
 * What both test doubles check in a bulk body before they accept it, as
 * Voucherify's `invalid_payload` would: JSON, an object, a non-empty array
 * of non-empty string ids, an object of metadata. A plain loop rather than
 * a schema: bodies carry up to 700,000 ids, kept as parsed, not copied.
 *
 * @internal
 */
import { invalidIdReason } from "../../internal/bulk/payload.js"
import type { Metadata } from "../../VoucherifySchema.js"

export interface BulkBody {
  readonly ids: ReadonlyArray<string>
  readonly metadata: Metadata
}

const capped = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

/** The ids and metadata of a body, or the `details` of the 400 that refuses it. */
export const decodeBulkBody = (field: "source_ids" | "codes", text: string): BulkBody | string => {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    return capped(`The body is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return `The body must be a JSON object with ${field} and metadata`
  }
  const { [field]: ids, metadata } = body as Record<string, unknown>
  if (!Array.isArray(ids) || ids.length === 0) return `Property .${field} must be a non-empty array of strings`
  for (let i = 0; i < ids.length; i++) {
    const reason = invalidIdReason(ids[i])
    if (reason !== undefined) return capped(`Property .${field} item ${i} ${reason}`)
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    return "Property .metadata must be a JSON object"
  }
  return { ids, metadata: metadata as Metadata }
}
