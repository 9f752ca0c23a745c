/**
 * One per-record body, for the single calls (`Voucherify`'s
 * `updateProductsInBulk`, ...): every record checked as a run checks it,
 * then measured against the limit, before anything is sent.
 *
 * @internal
 */
import { InvalidRequestError, PayloadTooLargeError } from "../../VoucherifyError.js"
import type { BulkTarget } from "../../VoucherifySchema.js"
import type { EncodedBulkRequest } from "../bulk/payload.js"
import { RecordChecker } from "./check.js"

const encoder = new TextEncoder()

/** The body `[record,…]` of `records`, or the error that refuses it. */
export const encodeRecordsRequest = (
  target: BulkTarget,
  records: ReadonlyArray<unknown>,
  maxBytes: number
): InvalidRequestError | PayloadTooLargeError | EncodedBulkRequest => {
  if (records.length === 0) return new InvalidRequestError({ path: "records", reason: "must hold at least one record" })
  // the body as a whole is measured below
  const checker = new RecordChecker(target, Number.POSITIVE_INFINITY)
  const items = new Array<string>(records.length)
  for (let i = 0; i < records.length; i++) {
    const json = checker.take(records[i])
    if (typeof json !== "string") {
      const field = json.field === undefined ? "" : `.${json.field}`
      return new InvalidRequestError({ path: `records[${i}]${field}`, reason: json.reason, offset: i })
    }
    items[i] = json
  }
  const body = encoder.encode(`[${items.join(",")}]`)
  if (body.byteLength > maxBytes) return new PayloadTooLargeError({ source: "local", bytes: body.byteLength, limit: maxBytes })
  return { target, body, ids: records.length, kind: "records" }
}
