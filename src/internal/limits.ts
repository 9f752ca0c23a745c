/**
 * Voucherify's fixed limits, in one place.
 *
 * @internal
 */

/** The largest request body the gateway takes: 10 MB (10485760 bytes); 413 above it. */
export const defaultMaxPayloadBytes = 10_485_760

/** The largest body the packer builds (`maxBytes`): ten times Voucherify's limit. No id is longer. */
export const largestMaxBytes = 10 * defaultMaxPayloadBytes
