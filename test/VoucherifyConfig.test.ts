import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { version } from "../src/internal/version.js"
import { VoucherifyTest } from "../src/testing/index.js"
import * as VoucherifyConfig from "../src/VoucherifyConfig.js"

const TOKEN = "sk_test_config_secret_99"
const good: VoucherifyConfig.Options = { appId: "app-1", appToken: Redacted.make(TOKEN) }

const resolve = (layer: Layer.Layer<VoucherifyConfig.VoucherifyConfig, ConfigError.ConfigError>) =>
  Effect.provide(VoucherifyConfig.VoucherifyConfig, layer)

const fromEnv = (env: Record<string, string>) =>
  VoucherifyConfig.VoucherifyConfig.pipe(
    Effect.provide(VoucherifyConfig.layerConfig()),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

/** The one-line text of a ConfigError, which names the field. */
const failureText = (effect: Effect.Effect<unknown, ConfigError.ConfigError>) =>
  Effect.map(Effect.flip(effect), (error) => {
    expect(ConfigError.isConfigError(error)).toBe(true)
    return String(error)
  })

describe("VoucherifyConfig", () => {
  it.effect("fills in the documented defaults", () =>
    Effect.gen(function*() {
      const config = yield* resolve(VoucherifyConfig.layer(good))
      expect(config.baseUrl).toBe("https://api.voucherify.io")
      expect(config.apiVersion).toBe("v2018-08-01")
      expect(config.channel).toBe(`effect-voucherify/${version}`)
      expect(Duration.toSeconds(config.timeout)).toBe(60)
      expect(config.maxPayloadBytes).toBe(10485760)
      expect(config.retry.maxRetries).toBe(5)
      expect(config.auth._tag).toBe("AppKeys")
    }))

  it("keeps the version equal to package.json's", () => {
    expect(version).toBe(JSON.parse(fs.readFileSync("package.json", "utf8")).version)
  })

  it.effect("chooses the cluster host, and lets a base URL override it", () =>
    Effect.gen(function*() {
      expect((yield* resolve(VoucherifyConfig.layer({ ...good, cluster: "as1.api" }))).baseUrl).toBe(
        "https://as1.api.voucherify.io"
      )
      expect(
        (yield* resolve(VoucherifyConfig.layer({ ...good, cluster: "us1.api", baseUrl: "https://eu2.example.com/api/" })))
          .baseUrl
      ).toBe("https://eu2.example.com/api")
      for (const loopback of ["http://127.0.0.1:3000", "http://localhost:8080", "http://[::1]:9000"]) {
        expect((yield* resolve(VoucherifyConfig.layer({ ...good, baseUrl: loopback }))).baseUrl).toBe(loopback)
      }
    }))

  it.effect("refuses each bad value with a ConfigError naming the field", () =>
    Effect.gen(function*() {
      const cases: Array<[Partial<VoucherifyConfig.Options> & Record<string, unknown>, string]> = [
        [{ appId: "" }, "appId"],
        [{ appId: "app\n1" }, "appId"],
        [{ appId: "app\u00001" }, "appId"],
        [{ appToken: Redacted.make("") }, "appToken"],
        [{ appToken: Redacted.make(`${TOKEN}\r\nX-Evil: 1`) }, "appToken"],
        [{ appToken: Redacted.make(`${TOKEN}\t`) }, "appToken"],
        [{ baseUrl: "http://api.voucherify.io" }, "baseUrl"],
        [{ baseUrl: "http://10.0.0.1" }, "baseUrl"],
        [{ baseUrl: "ftp://api.voucherify.io" }, "baseUrl"],
        [{ baseUrl: "not a url" }, "baseUrl"],
        [{ baseUrl: "https://user:pass@api.voucherify.io" }, "baseUrl"],
        [{ baseUrl: "https://api.voucherify.io/?x=1" }, "baseUrl"],
        [{ cluster: "eu1.api" as any }, "cluster"],
        [{ apiVersion: "v2018\n" }, "apiVersion"],
        [{ channel: "my-app\r\n" }, "channel"],
        [{ timeout: 0 }, "timeout"],
        [{ timeout: "forever" as any }, "timeout"],
        [{ retry: { maxRetries: -1 } }, "retry.maxRetries"],
        // Duration clamps these to zero: a backoff of nothing, a 429 never waited for
        [{ retry: { baseDelay: -100 } }, "retry.baseDelay"],
        [{ retry: { maxDelay: Number.NaN } }, "retry.maxDelay"],
        [{ retry: { maxRetryAfter: "-5 seconds" as Duration.DurationInput } }, "retry.maxRetryAfter"],
        [{ timeout: "infinity" }, "timeout"],
        [{ retry: { maxRetries: 1.5 } }, "retry.maxRetries"],
        [{ maxPayloadBytes: 0 }, "maxPayloadBytes"],
        [{ auth: { _tag: "OAuth", appId: "a", appToken: Redacted.make("t"), scopes: [] } }, "scopes"],
        [{ auth: { _tag: "BearerToken", token: Redacted.make("bad\ntoken") } }, "token"],
        // what untyped JavaScript can pass
        [{ appId: 42 as any }, "appId"],
        [{ appToken: TOKEN as any }, "appToken"],
        [{ auth: { _tag: "ApiKey" } as any }, "auth"]
      ]
      for (const [override, field] of cases) {
        const text = yield* failureText(resolve(VoucherifyConfig.layer({ ...good, ...override })))
        expect(text, JSON.stringify(override)).toContain(field)
        expect(text).not.toContain(TOKEN)
      }
      const missing = yield* failureText(resolve(VoucherifyConfig.layer({})))
      expect(missing).toContain("credentials are required")
    }))

  it.effect("a payload limit above what the engine allows fails at the layer, with the engine's own message", () =>
    Effect.gen(function*() {
      const layerText = yield* failureText(resolve(VoucherifyConfig.layer({ ...good, maxPayloadBytes: 200_000_000 })))
      const rule = "must be an integer from 1 to 104857600, got 200000000"
      expect(layerText).toContain("maxPayloadBytes")
      expect(layerText).toContain(rule)
      // the same rule, with the same words, where a run checks its own maxBytes
      const run = yield* Effect.flip(
        BulkMetadata.run(["p1"], { target: "products", metadata: {}, maxBytes: 200_000_000 }).pipe(
          Effect.provide(VoucherifyTest.layer({ maxPayloadBytes: 104_857_600 }))
        )
      )
      expect(run).toMatchObject({ _tag: "BulkRunError", error: { _tag: "InvalidRequestError", path: "maxBytes", reason: rule } })
    }))

  it.effect("reads the documented environment variables", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        VOUCHERIFY_APP_ID: "env-app",
        VOUCHERIFY_APP_TOKEN: TOKEN,
        VOUCHERIFY_CLUSTER: "us1.api",
        VOUCHERIFY_TIMEOUT: "30 seconds",
        VOUCHERIFY_MAX_RETRIES: "2"
      })
      expect(config.baseUrl).toBe("https://us1.api.voucherify.io")
      expect(config.auth).toEqual({ _tag: "AppKeys", appId: "env-app", appToken: Redacted.make(TOKEN) })
      expect(Redacted.isRedacted(config.auth._tag === "AppKeys" && config.auth.appToken)).toBe(true)
      expect(Duration.toSeconds(config.timeout)).toBe(30)
      expect(config.retry.maxRetries).toBe(2)

      const overridden = yield* fromEnv({
        VOUCHERIFY_APP_ID: "env-app",
        VOUCHERIFY_APP_TOKEN: TOKEN,
        VOUCHERIFY_CLUSTER: "us1.api",
        VOUCHERIFY_BASE_URL: "https://dedicated.example.com"
      })
      expect(overridden.baseUrl).toBe("https://dedicated.example.com")

      const oauth = yield* fromEnv({
        VOUCHERIFY_APP_ID: "env-app",
        VOUCHERIFY_APP_TOKEN: TOKEN,
        VOUCHERIFY_OAUTH_SCOPES: "products async-actions"
      })
      expect(oauth.auth._tag === "OAuth" && oauth.auth.scopes).toEqual(["products", "async-actions"])
    }))

  it.effect("refuses bad environment values naming the field", () =>
    Effect.gen(function*() {
      // a missing variable is Config's own "missing data" error, naming it
      expect(yield* failureText(fromEnv({ VOUCHERIFY_APP_TOKEN: TOKEN }))).toContain("Missing data at VOUCHERIFY_APP_ID")
      expect(yield* failureText(fromEnv({ VOUCHERIFY_APP_ID: "a" }))).toContain("Missing data at VOUCHERIFY_APP_TOKEN")
      const empty = yield* failureText(fromEnv({ VOUCHERIFY_APP_ID: "", VOUCHERIFY_APP_TOKEN: TOKEN }))
      expect(empty).toContain("appId")
      expect(empty).toContain("must not be empty")
      expect(
        yield* failureText(fromEnv({ VOUCHERIFY_APP_ID: "a", VOUCHERIFY_APP_TOKEN: TOKEN, VOUCHERIFY_CLUSTER: "mars" }))
      ).toContain("VOUCHERIFY_CLUSTER")
      const http = yield* failureText(
        fromEnv({ VOUCHERIFY_APP_ID: "a", VOUCHERIFY_APP_TOKEN: TOKEN, VOUCHERIFY_BASE_URL: "http://example.com" })
      )
      expect(http).toContain("baseUrl")
      expect(http).not.toContain(TOKEN)
    }))

  it.effect("accepts a Config.Wrap that mixes constants and variables", () =>
    Effect.gen(function*() {
      const config = yield* VoucherifyConfig.VoucherifyConfig.pipe(
        Effect.provide(VoucherifyConfig.layerConfig({
          appId: Config.string("MY_APP_ID"),
          appToken: Config.redacted("MY_APP_TOKEN"),
          cluster: Config.succeed("as1.api" as const)
        })),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["MY_APP_ID", "wrapped"], ["MY_APP_TOKEN", TOKEN]]))
        )
      )
      expect(config.baseUrl).toBe("https://as1.api.voucherify.io")
      expect(config.auth._tag === "AppKeys" && config.auth.appId).toBe("wrapped")
    }))
})
