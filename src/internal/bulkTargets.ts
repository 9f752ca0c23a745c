/**
 * The three resources that have bulk endpoints: the metadata update (one
 * metadata object for many ids: the body field that names the ids and the
 * async action type) and the per-record update (an array of records, each
 * with its own values: the record field that names it).
 *
 * @internal
 */
import type { BulkTarget } from "../VoucherifySchema.js"

/** What the engine and the test doubles know of each bulk target. */
export interface BulkTargetInfo {
  readonly path: string
  readonly field: "source_ids" | "codes"
  readonly actionType: string
  /** Unknown records are created (products, customers) or reported (vouchers). */
  readonly upsert: boolean
  /** `POST /v1/{target}/bulk/async`: the per-record update, an array of records. */
  readonly records: {
    readonly path: string
    /** The field that names a record: `source_id`, or `code` for vouchers. */
    readonly idField: "source_id" | "code"
    readonly actionType: string
  }
}

/** The endpoint, body field and async action type of each target. */
export const bulkTargets: { readonly [K in BulkTarget]: BulkTargetInfo } = {
  products: {
    path: "/v1/products/metadata/async",
    field: "source_ids",
    actionType: "PRODUCTS.METADATA_UPDATE",
    upsert: true,
    records: { path: "/v1/products/bulk/async", idField: "source_id", actionType: "PRODUCTS.BULK_UPDATE" }
  },
  customers: {
    path: "/v1/customers/metadata/async",
    field: "source_ids",
    actionType: "CUSTOMERS.METADATA_UPDATE",
    upsert: true,
    records: { path: "/v1/customers/bulk/async", idField: "source_id", actionType: "CUSTOMERS.BULK_UPDATE" }
  },
  vouchers: {
    path: "/v1/vouchers/metadata/async",
    field: "codes",
    actionType: "VOUCHERS.METADATA_UPDATE",
    upsert: false,
    records: { path: "/v1/vouchers/bulk/async", idField: "code", actionType: "VOUCHERS.BULK_UPDATE" }
  }
}
