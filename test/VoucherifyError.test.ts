import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as VoucherifyError from "../src/VoucherifyError.js"
import { AsyncAction } from "../src/VoucherifySchema.js"

const members: ReadonlyArray<VoucherifyError.VoucherifyError> = [
  new VoucherifyError.PayloadTooLargeError({ source: "local", limit: 10, bytes: 11 }),
  new VoucherifyError.UnauthorizedError({ status: 401 }),
  new VoucherifyError.ForbiddenError({ status: 403 }),
  new VoucherifyError.NotFoundError({ status: 404 }),
  new VoucherifyError.RateLimitError({ status: 429, limitType: "bulk_api_calls" }),
  new VoucherifyError.BadRequestError({ status: 400, key: "invalid_payload" }),
  new VoucherifyError.ServerError({ status: 503 }),
  new VoucherifyError.TransportError({ reason: "Timeout", description: "slow" }),
  new VoucherifyError.ResponseDecodeError({ status: 202, description: "not JSON" }),
  new VoucherifyError.InvalidRequestError({ path: "source_ids[0]", reason: "empty" })
]

describe("isVoucherifyError", () => {
  it("is true for every member of the union, built or decoded back from its encoding", () => {
    const codec = Schema.encodeSync(VoucherifyError.VoucherifyError)
    const decode = Schema.decodeUnknownSync(VoucherifyError.VoucherifyError)
    for (const error of members) {
      expect(VoucherifyError.isVoucherifyError(error), error._tag).toBe(true)
      expect(VoucherifyError.isVoucherifyError(decode(JSON.parse(JSON.stringify(codec(error))))), error._tag).toBe(true)
    }
  })

  it("is false for look-alikes and for the await errors outside the union", () => {
    const action = new AsyncAction({ id: "aa_1", type: "PRODUCTS.METADATA_UPDATE", status: "FAILED" })
    for (
      const value of [
        { _tag: "ServerError", status: 500 },
        new Error("ServerError"),
        new VoucherifyError.AsyncActionFailedError({ action }),
        null,
        "UnauthorizedError"
      ]
    ) {
      expect(VoucherifyError.isVoucherifyError(value)).toBe(false)
    }
  })
})
