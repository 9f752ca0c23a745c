/**
 * The shapes Voucherify sends and receives on the bulk metadata endpoints and
 * the async actions they start, as `effect/Schema` definitions (the successor
 * of `@effect/schema`).
 *
 * Decoding is lenient where the API is known to grow: `type` accepts any
 * string, `result` keeps fields it does not know, and unknown top-level
 * fields are tolerated.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { isoDateReason, jsonObjectReason, recordIdReason } from "./internal/records/rules.js"

/**
 * The id of an async action, such as `aa_0a875d56c805df6601`: one safe URL
 * path segment, 1 to 200 letters, digits, `_` and `-`. The id goes into the
 * path of `GET /v1/async-actions/{id}` with the credentials, so anything
 * else (`..`, `.`, a slash, a `%`) is refused: an answer that names such an
 * action does not decode, and no request is made for it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AsyncActionId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,200}$/, {
    message: (issue) => `an async action id is 1 to 200 letters, digits, "_" and "-", got ${JSON.stringify(issue.actual)}`
  }),
  Schema.brand("AsyncActionId")
)

/**
 * @since 0.1.0
 * @category models
 */
export type AsyncActionId = typeof AsyncActionId.Type

/**
 * A bulk request's acceptance as the client saw it: the async action id,
 * and the rate-limit headers of the answer, so that a run can hold its next
 * bulk call when the quota says none is left.
 *
 * @since 0.2.0
 * @category models
 */
export interface BulkAccepted {
  readonly async_action_id: AsyncActionId
  /**
   * What the answer's `X-Rate-Limit-*` headers said: the limit's type
   * (`api_calls`, `bulk_api_calls`, ...), its size, the calls left, and
   * `retryAt`, the time (epoch milliseconds) of the next allowed call.
   */
  readonly rateLimit?: {
    readonly limitType?: string | undefined
    readonly limit?: number | undefined
    readonly remaining?: number | undefined
    readonly retryAt?: number | undefined
  } | undefined
}

/**
 * Metadata: a JSON object of custom attributes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * @since 0.1.0
 * @category models
 */
export type Metadata = typeof Metadata.Type

/**
 * Body of `POST /v1/products/metadata/async` and `POST /v1/customers/metadata/async`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SourceIdsMetadataUpdateRequest = Schema.Struct({
  source_ids: Schema.Array(Schema.String),
  metadata: Metadata
})

/**
 * @since 0.1.0
 * @category models
 */
export type SourceIdsMetadataUpdateRequest = typeof SourceIdsMetadataUpdateRequest.Type

/**
 * Body of `POST /v1/vouchers/metadata/async`: vouchers are named by `codes`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const VouchersMetadataUpdateInBulkRequest = Schema.Struct({
  codes: Schema.Array(Schema.String),
  metadata: Metadata
})

/**
 * @since 0.1.0
 * @category models
 */
export type VouchersMetadataUpdateInBulkRequest = typeof VouchersMetadataUpdateInBulkRequest.Type

/** A refinement whose message is the reason a rule gives. */
const ruled = <S extends Schema.Schema<any, any>>(
  self: S,
  identifier: string,
  reason: (value: Schema.Schema.Type<S>) => string | undefined
) => self.pipe(Schema.filter((value) => reason(value) ?? true, { identifier }))

/** `source_id` or `code`: non-empty, no control character, no whitespace at either end. */
const RecordId = ruled(Schema.String, "RecordId", recordIdReason)

/** A record's `metadata`: a plain object whose values JSON carries unchanged. */
const JsonObject = Schema.declare(
  (u): u is Metadata => jsonObjectReason(u) === undefined,
  { identifier: "JsonObject", message: (issue) => jsonObjectReason(issue.actual) ?? "must be a JSON object" }
)

const optional = <S extends Schema.Schema.All>(self: S) => Schema.optionalWith(self, { exact: true })

/** `YYYY-MM-DD`. */
const IsoDate = ruled(Schema.String, "IsoDate", isoDateReason)

/** A customer's address; `null` clears it. */
const CustomerAddress = Schema.Struct({
  city: optional(Schema.String),
  state: optional(Schema.String),
  line_1: optional(Schema.String),
  line_2: optional(Schema.String),
  country: optional(Schema.String),
  postal_code: optional(Schema.String)
})

/**
 * One record of a per-record bulk update, by target, as the spec defines
 * the items of each body: `ProductsUpdateInBulkRequestBody`,
 * `CustomersUpdateInBulkRequestBody` and `VouchersUpdateInBulkItemRequestBody`.
 * Decode with `onExcessProperty: "error"`, as `BulkRecords` and the
 * `Voucherify` calls do: an unknown field (a typo such as `metdata`) would
 * otherwise be sent and ignored.
 *
 * - `products` (`POST /v1/products/bulk/async`, upsert): `source_id`, `name`,
 *   `price` (an integer, in cents), `attributes`, `image_url`, `metadata`.
 * - `customers` (`POST /v1/customers/bulk/async`, upsert): `source_id`,
 *   `name`, `description`, `email`, `phone`, `birthday` (deprecated),
 *   `birthdate` (`YYYY-MM-DD`), `address` (or `null`), `metadata`.
 * - `vouchers` (`POST /v1/vouchers/bulk/async`, never created): `code` and
 *   `metadata`, both required; only metadata is updated.
 *
 * An id must not be empty, hold a control character, or begin or end with
 * whitespace; `metadata` must be a JSON object that JSON carries unchanged.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { VoucherifySchema } from "effect-voucherify"
 *
 * const product = Schema.decodeUnknownSync(VoucherifySchema.BulkRecord.products, { onExcessProperty: "error" })({
 *   source_id: "sku-1",
 *   price: 1999,
 *   metadata: { tier: "gold" }
 * })
 * ```
 *
 * @since 0.3.0
 * @category schemas
 */
export const BulkRecord = {
  products: Schema.Struct({
    source_id: RecordId,
    name: optional(Schema.String),
    price: optional(Schema.Int),
    attributes: optional(Schema.Array(Schema.String)),
    image_url: optional(Schema.String),
    metadata: optional(JsonObject)
  }).annotations({ identifier: "ProductsUpdateInBulkRequestBody" }),
  customers: Schema.Struct({
    source_id: RecordId,
    name: optional(Schema.String),
    description: optional(Schema.String),
    email: optional(Schema.String),
    phone: optional(Schema.String),
    birthday: optional(IsoDate),
    birthdate: optional(IsoDate),
    address: optional(Schema.NullOr(CustomerAddress)),
    metadata: optional(JsonObject)
  }).annotations({ identifier: "CustomersUpdateInBulkRequestBody" }),
  vouchers: Schema.Struct({
    code: RecordId,
    metadata: JsonObject
  }).annotations({ identifier: "VouchersUpdateInBulkItemRequestBody" })
} as const

/**
 * One record of a per-record bulk update of `T`: see {@link BulkRecord}.
 *
 * @since 0.3.0
 * @category models
 */
export type BulkRecord<T extends BulkTarget = BulkTarget> = Schema.Schema.Type<typeof BulkRecord[T]>

/**
 * The three resources that have a bulk metadata endpoint, with the body field
 * that names their records and the async action type they start.
 *
 * @since 0.1.0
 * @category models
 */
export type BulkTarget = "products" | "customers" | "vouchers"

/**
 * The async action types the documentation lists. The API adds values without
 * a version change, so {@link AsyncAction} accepts any string in `type`.
 *
 * @since 0.1.0
 * @category schemas
 */
const KnownAsyncActionType = Schema.Literal(
  "CAMPAIGN.VOUCHERS_IMPORT",
  "CAMPAIGN.VOUCHERS_IMPORT_CSV",
  "CAMPAIGN.VOUCHERS_UPDATE",
  "CAMPAIGN.VOUCHERS_DELETE",
  "CAMPAIGN.VOUCHERS_GENERATE",
  "CAMPAIGNS.METADATA_KEY_PURGE",
  "CUSTOMERS.IMPORT_CSV",
  "CUSTOMERS.BULK_UPDATE",
  "CUSTOMERS.METADATA_UPDATE",
  "CUSTOMERS.METADATA_KEY_PURGE",
  "PRODUCTS.BULK_UPDATE",
  "PRODUCTS.METADATA_UPDATE",
  "PRODUCTS.METADATA_KEY_PURGE",
  "PRODUCTS.IMPORT_CSV",
  "SKUS.IMPORT_CSV",
  "VOUCHERS.IMPORT",
  "VOUCHERS.IMPORT_CSV",
  "VOUCHERS.BULK_UPDATE",
  "VOUCHERS.METADATA_UPDATE",
  "VOUCHERS.METADATA_KEY_PURGE",
  "ORDERS.IMPORT",
  "ORDERS.METADATA_KEY_PURGE"
)

/** An async action type: one of {@link KnownAsyncActionType} or any newer one. */
const AsyncActionType = Schema.Union(KnownAsyncActionType, Schema.String)

/**
 * `ENQUEUED` and `IN_PROGRESS` go on; `DONE` and `FAILED` are terminal.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AsyncActionStatus = Schema.Literal("ENQUEUED", "IN_PROGRESS", "DONE", "FAILED")

/**
 * @since 0.1.0
 * @category models
 */
export type AsyncActionStatus = typeof AsyncActionStatus.Type

/**
 * Reported on newer action types only.
 *
 * @since 0.1.0
 * @category schemas
 */
const AsyncActionOperationStatus = Schema.Literal("SUCCESS", "FAILED", "UNKNOWN")

/**
 * One entry of `result.errors`.
 *
 * @since 0.1.0
 * @category schemas
 */
const AsyncActionResultError = Schema.Struct(
  {
    message: Schema.optional(Schema.String),
    details: Schema.optional(Schema.String),
    key: Schema.optional(Schema.String),
    source_id: Schema.optional(Schema.String),
    code: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * One entry of the pre-August-2024 `result.results`.
 *
 * @since 0.1.0
 * @category schemas
 */
const AsyncActionLegacyResult = Schema.Struct(
  {
    source_id: Schema.optional(Schema.String),
    updated: Schema.optional(Schema.Boolean),
    found: Schema.optional(Schema.Boolean)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * A report file's URL, as `result.reports` holds it: its `?token=` is a
 * secret, so the decoded URL is a `Redacted` (printed, logged or turned into
 * JSON as `<redacted>`). `Redacted.value` gives the URL, and
 * `Voucherify.readReport` takes the value itself. Encoding gives back the
 * URL as the API sent it.
 */
const ReportUrl = Schema.Redacted(Schema.String)

// `AsyncAction`'s field: its type is what users need (below), the schema is the action's
const AsyncActionResult = Schema.Struct(
  {
    done_count: Schema.optional(Schema.Number),
    failed_count: Schema.optional(Schema.Number),
    reports: Schema.optional(Schema.Array(ReportUrl)),
    reports_available_till: Schema.optional(Schema.String),
    errors: Schema.optional(Schema.Array(AsyncActionResultError)),
    results: Schema.optional(Schema.Array(AsyncActionLegacyResult)),
    message: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * The `result` of an async action. Every field is optional and unknown
 * fields are kept: the schema declares only `errors`, the documentation's
 * example adds counts and report links (each a `Redacted` URL: its `?token=`
 * is a secret; `Redacted.value` gives it), and older actions carry `results`.
 *
 * @since 0.1.0
 * @category models
 */
export type AsyncActionResult = typeof AsyncActionResult.Type

/**
 * An async action, as `GET /v1/async-actions/{id}` returns it.
 *
 * @since 0.1.0
 * @category schemas
 */
export class AsyncAction extends Schema.Class<AsyncAction>("AsyncAction")({
  id: Schema.String,
  type: AsyncActionType,
  status: AsyncActionStatus,
  operation_status: Schema.optional(AsyncActionOperationStatus),
  result: Schema.optional(AsyncActionResult),
  created_at: Schema.optional(Schema.String),
  updated_at: Schema.optional(Schema.String),
  request_id: Schema.optional(Schema.String),
  processing_time: Schema.optional(Schema.Number),
  progress: Schema.optional(Schema.Number),
  object: Schema.optional(Schema.String)
}) {
  /** `DONE` or `FAILED`: polling can stop. */
  get isTerminal(): boolean {
    return this.status === "DONE" || this.status === "FAILED"
  }
}

/**
 * An entry of `GET /v1/async-actions`: an action without its `result`.
 *
 * @since 0.1.0
 * @category schemas
 */
const AsyncActionListEntry = Schema.Struct({
  id: Schema.String,
  type: AsyncActionType,
  status: AsyncActionStatus,
  operation_status: Schema.optional(AsyncActionOperationStatus),
  created_at: Schema.optional(Schema.String),
  updated_at: Schema.optional(Schema.String),
  request_id: Schema.optional(Schema.String),
  processing_time: Schema.optional(Schema.Number),
  progress: Schema.optional(Schema.Number),
  object: Schema.optional(Schema.String)
})

/**
 * `GET /v1/async-actions?limit=&end_date=`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AsyncActionList = Schema.Struct({
  object: Schema.optional(Schema.String),
  data_ref: Schema.optional(Schema.String),
  async_actions: Schema.Array(AsyncActionListEntry),
  has_more: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export type AsyncActionList = typeof AsyncActionList.Type
