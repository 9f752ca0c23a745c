/**
 * What both test doubles check in a per-record bulk body before they accept
 * it, as Voucherify's `invalid_payload` would: JSON, a non-empty array,
 * each item a record of the target's schema (the spec's item schema, the
 * same one the client checks with). An id given twice in one body is not
 * refused here: the API does not say it refuses one, and the doubles apply
 * the records in order.
 *
 * @internal
 */
import { shapeOf } from "../../internal/records/shape.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import type { RecordUpdate } from "./recordStore.js"

const capped = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

/** The records of a body, or the `details` of the 400 that refuses it. */
export const decodeRecordsBody = (target: BulkTarget, text: string): ReadonlyArray<RecordUpdate> | string => {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    return capped(`The body is not valid JSON: ${(error as Error).message}`)
  }
  if (!Array.isArray(body) || body.length === 0) return "The body must be a non-empty array of records"
  const shape = shapeOf(target)
  for (let i = 0; i < body.length; i++) {
    const refused = shape.check(body[i])
    if (refused !== undefined) {
      return capped(`Item ${i}${refused.field === undefined ? "" : ` property .${refused.field}`}: ${refused.reason}`)
    }
  }
  return body as ReadonlyArray<RecordUpdate>
}
