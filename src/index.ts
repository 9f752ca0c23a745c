/**
 * effect-voucherify: a typed Effect client for Voucherify's bulk metadata API.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Voucherify from "./Voucherify.js"

/** @since 0.1.0 */
export * as VoucherifyConfig from "./VoucherifyConfig.js"

/** @since 0.1.0 */
export * as VoucherifyError from "./VoucherifyError.js"

/** @since 0.1.0 */
export * as VoucherifyHttpClient from "./VoucherifyHttpClient.js"

/** @since 0.1.0 */
export * as VoucherifySchema from "./VoucherifySchema.js"

/** @since 0.1.0 */
export * as BulkMetadata from "./BulkMetadata.js"

/** @since 0.1.0 */
export * as BulkJournal from "./BulkJournal.js"

/** @since 0.3.0 */
export * as BulkRecords from "./BulkRecords.js"

/** @since 0.4.0 */
export * as BulkRun from "./BulkRun.js"

/** @since 0.5.0 */
export * as SyncState from "./SyncState.js"
