/**
 * What the client does with answers it must not trust: an async action id
 * that is not one path segment, and an answer past `maxResponseBytes`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Voucherify } from "../src/Voucherify.js"
import * as VoucherifyConfig from "../src/VoucherifyConfig.js"
import { AsyncActionId } from "../src/VoucherifySchema.js"
import { clientWith } from "./support/client.js"

const bulk = Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} }))

describe("AsyncActionId", () => {
  const isId = Schema.is(AsyncActionId)

  it("is one safe path segment: letters, digits, _ and -", () => {
    for (const good of ["aa_0a875d56c805df6601", "A-1", "x", "a".repeat(200)]) expect(isId(good)).toBe(true)
    for (const bad of ["", ".", "..", "aa/../x", "%2e%2e", "aa.1", "aa 1", "aa?x", "aa#x", "aa\\x", "é", "a".repeat(201)]) {
      expect(isId(bad)).toBe(false)
    }
  })

  it.effect("an acceptance naming another is a ResponseDecodeError; no poll goes anywhere for it", () =>
    Effect.gen(function*() {
      for (const bad of ["..", ".", "../../v1/oauth", "%2e%2e"]) {
        const { layer, requests } = clientWith([{ status: 202, body: { async_action_id: bad } }], { retry: { maxRetries: 0 } })
        const error = yield* Effect.flip(Effect.provide(bulk, layer))
        expect(error).toMatchObject({ _tag: "ResponseDecodeError", status: 202 })
        expect(error.message).toContain(`async_action_id: an async action id is 1 to 200 letters, digits, "_" and "-", got ${JSON.stringify(bad)}`)
        expect(requests).toHaveLength(1)
        const get = yield* Effect.flip(Effect.provide(Effect.flatMap(Voucherify, (v) => v.getAsyncAction(bad)), layer))
        expect(get).toMatchObject({ _tag: "InvalidRequestError", path: "id" })
        const awaited = yield* Effect.flip(Effect.provide(Effect.flatMap(Voucherify, (v) => v.awaitAsyncAction(bad)), layer))
        expect(awaited).toMatchObject({ _tag: "InvalidRequestError", path: "id" })
        expect(requests).toHaveLength(1)
      }
    }))
})

describe("maxResponseBytes", () => {
  it.effect("an answer past the limit fails with its limit, whether its Content-Length says so or not", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ async_action_id: "aa_1", padding: "x".repeat(200) })
      for (const headers of [{}, { "content-length": String(body.length) }]) {
        const { layer } = clientWith([{ status: 202, body, headers }], { maxResponseBytes: 100, retry: { maxRetries: 0 } })
        const error = yield* Effect.flip(Effect.provide(bulk, layer))
        expect(error).toMatchObject({ _tag: "ResponseDecodeError", status: 202, limit: 100 })
        expect(error.message).toContain("the answer is larger than 100 bytes (maxResponseBytes)")
      }
      // at the limit, it is read
      const { layer } = clientWith([{ status: 202, body: { async_action_id: "aa_1" } }], { maxResponseBytes: 26 })
      expect((yield* Effect.provide(bulk, layer)).async_action_id).toBe("aa_1")
      // an action too
      const action = { id: "aa_1", type: "PRODUCTS.METADATA_UPDATE", status: "DONE", result: { errors: [{ message: "x".repeat(500) }] } }
      const big = clientWith([{ status: 200, body: action }], { maxResponseBytes: 300 })
      const error = yield* Effect.flip(Effect.provide(Effect.flatMap(Voucherify, (v) => v.getAsyncAction("aa_1")), big.layer))
      expect(error).toMatchObject({ _tag: "ResponseDecodeError", limit: 300 })
    }))

  it.effect("report files are streamed, whatever their size", () =>
    Effect.gen(function*() {
      const csv = `source_id,found,updated\n${Array.from({ length: 2000 }, (_, i) => `id_${i},true,true`).join("\n")}\n`
      const { layer } = clientWith([{ status: 200, body: csv }], { maxResponseBytes: 100 })
      const rows = yield* Effect.provide(
        Effect.flatMap(Voucherify, (v) => Stream.runCount(v.readReport(Redacted.make("https://api.voucherify.io/r.csv?token=t")))),
        layer
      )
      expect(rows).toBe(2000)
    }))

  it.effect("is a configuration value: 1 MiB by default, checked like the others, read from VOUCHERIFY_MAX_RESPONSE_BYTES", () =>
    Effect.gen(function*() {
      const options = { appId: "app", appToken: Redacted.make("secret-token") }
      const config = yield* Effect.provide(VoucherifyConfig.VoucherifyConfig, VoucherifyConfig.layer(options))
      expect(config.maxResponseBytes).toBe(1048576)
      expect(VoucherifyConfig.defaults.maxResponseBytes).toBe(1048576)
      const refused = yield* Effect.flip(
        Effect.provide(VoucherifyConfig.VoucherifyConfig, VoucherifyConfig.layer({ ...options, maxResponseBytes: 0 }))
      )
      expect(ConfigError.isConfigError(refused)).toBe(true)
      expect(String(refused)).toContain("maxResponseBytes")
      const fromEnv = yield* VoucherifyConfig.VoucherifyConfig.pipe(
        Effect.provide(VoucherifyConfig.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
          ["VOUCHERIFY_APP_ID", "app"],
          ["VOUCHERIFY_APP_TOKEN", "secret-token"],
          ["VOUCHERIFY_MAX_RESPONSE_BYTES", "2048"]
        ])))
      )
      expect(fromEnv.maxResponseBytes).toBe(2048)
    }))
})
