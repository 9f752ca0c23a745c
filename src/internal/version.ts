/**
 * The package version, sent in `X-Voucherify-Channel` and `User-Agent`.
 * A test keeps it equal to package.json's.
 *
 * @internal
 */
export const version = "0.1.0"
