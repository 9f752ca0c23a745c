/**
 * The real Voucherify service over a transport double, as the tests of the
 * client build it.
 */
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Voucherify from "../../src/Voucherify.js"
import type * as VoucherifyConfig from "../../src/VoucherifyConfig.js"
import { makeTransport, type Reply } from "./transport.js"

/** A distinctive secret: tests search every output for it. */
export const TOKEN = "sk_test_Zq9XTOKENvalue42"
export const APP_ID = "app-id-0001"

export const clientWith = (replies: ReadonlyArray<Reply>, options: Partial<VoucherifyConfig.Options> = {}) => {
  const transport = makeTransport(replies)
  const layer = Voucherify.layer({
    appId: APP_ID,
    appToken: Redacted.make(TOKEN),
    retry: { maxRetries: 3, baseDelay: "100 millis", maxDelay: "1 second", maxRetryAfter: "1 minute" },
    timeout: "5 seconds",
    ...options
  }).pipe(Layer.provide(transport.layer))
  return { requests: transport.requests, layer }
}
