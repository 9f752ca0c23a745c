/**
 * Voucherify's fixed limits, and the one rule for a body size, in one place:
 * the config's `maxPayloadBytes` and a run's `maxBytes` are checked by it.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/** The largest request body the gateway takes: 10 MB (10485760 bytes); 413 above it. */
export const defaultMaxPayloadBytes = 10_485_760

/** The largest body size accepted anywhere: each body is a buffer of this size, so refuse what no API takes. */
export const largestMaxPayloadBytes = 10 * defaultMaxPayloadBytes

/** Why `bytes` is not a body size up to `largest`, or undefined. */
export const payloadBytesReason = (bytes: number, largest: number = largestMaxPayloadBytes): string | undefined =>
  Number.isSafeInteger(bytes) && bytes >= 1 && bytes <= largest
    ? undefined
    : `must be an integer from 1 to ${largest}, got ${bytes}`

/** A body size, as the config decodes it. */
export const PayloadBytes = Schema.Number.pipe(Schema.filter((bytes) => payloadBytesReason(bytes)))

/**
 * The largest answer of a bulk call or an async action read: 1 MiB
 * (1048576 bytes). Either is a few hundred bytes; an answer past this is not
 * Voucherify's, and is not read further.
 */
export const defaultMaxResponseBytes = 1_048_576
