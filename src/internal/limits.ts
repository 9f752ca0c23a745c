/**
 * Voucherify's fixed limits, in one place.
 *
 * @internal
 */

/** The largest request body the gateway takes: 10 MB (10485760 bytes); 413 above it. */
export const defaultMaxPayloadBytes = 10_485_760

/**
 * The largest answer of a bulk call or an async action read: 1 MiB
 * (1048576 bytes). Either is a few hundred bytes; an answer past this is not
 * Voucherify's, and is not read further.
 */
export const defaultMaxResponseBytes = 1_048_576
