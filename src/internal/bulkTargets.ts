/**
 * The three resources that have a bulk metadata endpoint: the body field
 * that names their records and the async action type they start.
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
}

/** The endpoint, body field and async action type of each target. */
export const bulkTargets: { readonly [K in BulkTarget]: BulkTargetInfo } = {
  products: {
    path: "/v1/products/metadata/async",
    field: "source_ids",
    actionType: "PRODUCTS.METADATA_UPDATE",
    upsert: true
  },
  customers: {
    path: "/v1/customers/metadata/async",
    field: "source_ids",
    actionType: "CUSTOMERS.METADATA_UPDATE",
    upsert: true
  },
  vouchers: {
    path: "/v1/vouchers/metadata/async",
    field: "codes",
    actionType: "VOUCHERS.METADATA_UPDATE",
    upsert: false
  }
}
