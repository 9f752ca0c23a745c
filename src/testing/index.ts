/**
 * Testing helpers for programs that use effect-voucherify: an in-memory
 * `Voucherify` layer and a real loopback HTTP server that speaks the
 * Voucherify API, with fault injection. Import from `effect-voucherify/testing`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as MockVoucherifyServer from "./MockVoucherifyServer.js"

/** @since 0.1.0 */
export * as VoucherifyTest from "./VoucherifyTest.js"
