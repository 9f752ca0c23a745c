/**
 * OAuth client credentials and bearer tokens: the token request on the wire,
 * caching and renewal on the TestClock, one token request for many callers,
 * one renewal and one retry after a 401, and typed failures of the token
 * request itself.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { layer, layerConfig, Voucherify } from "../src/Voucherify.js"
import type * as VoucherifyConfig from "../src/VoucherifyConfig.js"
import { APP_ID, clientWith, TOKEN } from "./support/client.js"
import { makeTransport, type RecordedRequest, type Reply } from "./support/transport.js"

const oauth = (scopes: ReadonlyArray<string> = ["products", "async-actions"]): VoucherifyConfig.Auth => ({
  _tag: "OAuth",
  appId: APP_ID,
  appToken: Redacted.make(TOKEN),
  scopes
})

/** A token answer as Voucherify sends it, issued at TestClock time `issuedAtSeconds`. */
const tokenReply = (accessToken: string, issuedAtSeconds = 0, expiresIn = 900): Reply => ({
  status: 200,
  body: {
    access_token: accessToken,
    client_id: "cl_1",
    expires_at: issuedAtSeconds + expiresIn,
    expires_in: expiresIn,
    scope: "products async-actions",
    token_type: "Bearer"
  }
})

const accepted: Reply = { status: 202, body: { async_action_id: "aa_1" } }
const unauthorized: Reply = { status: 401, body: { code: 401, message: "Unauthorized", key: "unauthorized" } }

const update = Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} }))

const isTokenRequest = (request: RecordedRequest) => request.url.endsWith("/v1/oauth/token")
const sentTokens = (requests: ReadonlyArray<RecordedRequest>) =>
  requests.filter((r) => !isTokenRequest(r)).map((r) => r.headers["authorization"])

/**
 * A transport that answers the token endpoint after `tokenDelay` (on the
 * TestClock, so that many callers can pile up behind one token request) and
 * every other path at once.
 */
const respond = (reply: Reply, request: HttpClientRequest.HttpClientRequest) =>
  "status" in reply
    ? HttpClientResponse.fromWeb(
      request,
      new Response(JSON.stringify(reply.body), { status: reply.status, headers: { "content-type": "application/json" } })
    )
    : HttpClientResponse.fromWeb(request, new Response(null, { status: 500 }))

const routed = (token: Reply, api: Reply, tokenDelay: Duration.DurationInput = "1 second") => {
  const requests: Array<RecordedRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      requests.push({ method: request.method, url: url.toString(), headers: { ...request.headers }, body: "" })
      return url.pathname === "/v1/oauth/token"
        ? Effect.as(Effect.sleep(tokenDelay), respond(token, request))
        : Effect.succeed(respond(api, request))
    })
  )
  return { requests, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const routedClient = (token: Reply, api: Reply) => {
  const transport = routed(token, api)
  return { requests: transport.requests, layer: layer({ auth: oauth(), retry: { maxRetries: 0 } }).pipe(Layer.provide(transport.layer)) }
}

describe("OAuth client credentials", () => {
  it.effect("asks for a token with the app keys and a form body, then sends it as a bearer token", () => {
    const { layer, requests } = clientWith([tokenReply("tok_A"), accepted], { auth: oauth() })
    return Effect.gen(function*() {
      yield* update
      expect(requests).toHaveLength(2)
      const [token, call] = requests
      expect(token.method).toBe("POST")
      expect(token.url).toBe("https://api.voucherify.io/v1/oauth/token")
      expect(token.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(token.body).toBe("grant_type=client_credentials&scope=products+async-actions")
      expect(token.headers["x-app-id"]).toBe(APP_ID)
      expect(token.headers["x-app-token"]).toBe(TOKEN)
      expect(call.headers["authorization"]).toBe("Bearer tok_A")
      // the app keys stay on the token request
      expect(call.headers["x-app-token"]).toBeUndefined()
      expect(call.headers["x-app-id"]).toBeUndefined()
    }).pipe(Effect.provide(layer))
  })

  it.effect("reuses the token until the margin before expires_at, then renews it", () => {
    const { layer, requests } = clientWith(
      [tokenReply("tok_A"), accepted, accepted, tokenReply("tok_B", 840), accepted],
      { auth: oauth() }
    )
    return Effect.gen(function*() {
      yield* update
      yield* TestClock.adjust("839 seconds")
      yield* update
      expect(requests.filter(isTokenRequest)).toHaveLength(1)
      // 900 s of life minus the 60 s margin: renewed from 840 s on
      yield* TestClock.adjust("1 second")
      yield* update
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
      expect(sentTokens(requests)).toEqual(["Bearer tok_A", "Bearer tok_A", "Bearer tok_B"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("renews a short-lived token halfway through its life", () => {
    const { layer, requests } = clientWith(
      [tokenReply("tok_A", 0, 60), accepted, accepted, tokenReply("tok_B", 30, 60), accepted],
      { auth: oauth() }
    )
    return Effect.gen(function*() {
      yield* update
      yield* TestClock.adjust("29 seconds")
      yield* update
      yield* TestClock.adjust("1 second")
      yield* update
      expect(sentTokens(requests)).toEqual(["Bearer tok_A", "Bearer tok_A", "Bearer tok_B"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("fifty simultaneous calls share one token request", () => {
    const { layer, requests } = routedClient(tokenReply("tok_A"), accepted)
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 50 }, () => update), { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results).toHaveLength(50)
      expect(requests.filter(isTokenRequest)).toHaveLength(1)
      expect(sentTokens(requests)).toEqual(Array.from({ length: 50 }, () => "Bearer tok_A"))
    }).pipe(Effect.provide(layer))
  })

  it.effect("fifty simultaneous calls share one refused token request and its error", () => {
    const { layer, requests } = routedClient(unauthorized, accepted)
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 50 }, () => Effect.flip(update)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("1 second")
      const errors = yield* Fiber.join(fiber)
      expect(errors.map((e) => e._tag)).toEqual(Array.from({ length: 50 }, () => "UnauthorizedError"))
      expect(requests).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failed token request is not kept: the next call asks again at once", () => {
    const { layer, requests } = clientWith(
      [{ status: 400, body: { code: 400, key: "invalid_scope" } }, tokenReply("tok_A"), accepted],
      { auth: oauth(), retry: { maxRetries: 0 } }
    )
    return Effect.gen(function*() {
      expect((yield* Effect.flip(update))._tag).toBe("BadRequestError")
      // the clock has not moved
      expect((yield* update).async_action_id).toBe("aa_1")
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a caller waiting for a token request whose caller was interrupted still gets a token", () => {
    const { layer, requests } = routedClient(tokenReply("tok_A"), accepted)
    return Effect.gen(function*() {
      const first = yield* Effect.fork(update)
      const second = yield* Effect.fork(update)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(second)).async_action_id).toBe("aa_1")
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
      expect(sentTokens(requests)).toEqual(["Bearer tok_A"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a 401 with a cached token renews it once and retries once", () => {
    const { layer, requests } = clientWith(
      [tokenReply("tok_A"), accepted, unauthorized, tokenReply("tok_B"), accepted],
      { auth: oauth() }
    )
    return Effect.gen(function*() {
      yield* update
      const result = yield* update
      expect(result.async_action_id).toBe("aa_1")
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
      expect(sentTokens(requests)).toEqual(["Bearer tok_A", "Bearer tok_A", "Bearer tok_B"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a late 401 for a token already renewed keeps the new token", () => {
    // tokens tok_1, tok_2, ... each after 1 s; tok_1 is refused; the second call's answer takes 2 s
    const tokenRequests: Array<string> = []
    let calls = 0
    const transport = HttpClient.make((request, url) =>
      Effect.suspend(() => {
        if (url.pathname === "/v1/oauth/token") {
          tokenRequests.push(`tok_${tokenRequests.length + 1}`)
          return Effect.as(Effect.sleep("1 second"), respond(tokenReply(tokenRequests.at(-1)!), request))
        }
        const reply = respond(request.headers["authorization"] === "Bearer tok_1" ? unauthorized : accepted, request)
        return ++calls === 2 ? Effect.as(Effect.sleep("2 seconds"), reply) : Effect.succeed(reply)
      })
    )
    const client = layer({ auth: oauth(), retry: { maxRetries: 0 } }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, transport))
    )
    return Effect.gen(function*() {
      const both = yield* Effect.fork(Effect.all([update, update], { concurrency: "unbounded" }))
      yield* TestClock.adjust("4 seconds")
      expect((yield* Fiber.join(both)).map((r) => r.async_action_id)).toEqual(["aa_1", "aa_1"])
      expect(tokenRequests).toEqual(["tok_1", "tok_2"])
    }).pipe(Effect.provide(client))
  })

  it.effect("a second 401 is an UnauthorizedError, after one renewal", () => {
    const { layer, requests } = clientWith([tokenReply("tok_A"), unauthorized, tokenReply("tok_B"), unauthorized], {
      auth: oauth()
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error._tag).toBe("UnauthorizedError")
      expect(error).toMatchObject({ status: 401, key: "unauthorized" })
      expect(requests).toHaveLength(4)
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a 401 from the token request fails at once, with no second token request", () => {
    const { layer, requests } = clientWith([unauthorized, tokenReply("tok_never"), accepted], { auth: oauth() })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error._tag).toBe("UnauthorizedError")
      expect(requests).toHaveLength(1)
      expect(isTokenRequest(requests[0])).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("an invalid scope is a typed error carrying the server's key", () => {
    const { layer, requests } = clientWith(
      [{ status: 400, body: { code: 400, key: "invalid_scope", message: "Invalid scope: vouchers,campaigns" } }],
      { auth: oauth(["vouchers", "campaigns"]) }
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error).toMatchObject({
        _tag: "BadRequestError",
        status: 400,
        key: "invalid_scope",
        serverMessage: "Invalid scope: vouchers,campaigns"
      })
      expect(error.message).toContain("key invalid_scope")
      expect(requests).toHaveLength(1)
      expect(requests[0].body).toBe("grant_type=client_credentials&scope=vouchers+campaigns")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a token answer of another shape is a ResponseDecodeError", () => {
    const { layer } = clientWith([{ status: 200, body: { token: "tok_A" } }], { auth: oauth() })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error).toMatchObject({ _tag: "ResponseDecodeError", status: 200 })
    }).pipe(Effect.provide(layer))
  })

  it.effect("a token request that hangs times out after `timeout` and is retried", () => {
    const { layer, requests } = clientWith([{ hang: true }, tokenReply("tok_A", 6), accepted], { auth: oauth() })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(update)
      yield* TestClock.adjust("5 seconds")
      expect(requests).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.async_action_id).toBe("aa_1")
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a transient failure of the token request is retried like any other", () => {
    const { layer, requests } = clientWith(
      [{ status: 503, body: { code: 503 } }, tokenReply("tok_A"), accepted],
      { auth: oauth() }
    )
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(update)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.async_action_id).toBe("aa_1")
      expect(requests.filter(isTokenRequest)).toHaveLength(2)
      expect(sentTokens(requests)).toEqual(["Bearer tok_A"])
    }).pipe(Effect.provide(layer))
  })
})

describe("BearerToken", () => {
  const bearer: VoucherifyConfig.Auth = { _tag: "BearerToken", token: Redacted.make("tok_app_managed") }

  it.effect("sends the application's token and no app keys", () => {
    const { layer, requests } = clientWith([accepted], { auth: bearer })
    return Effect.gen(function*() {
      yield* update
      expect(requests).toHaveLength(1)
      expect(requests[0].headers["authorization"]).toBe("Bearer tok_app_managed")
      expect(requests[0].headers["x-app-token"]).toBeUndefined()
      expect(requests[0].headers["x-app-id"]).toBeUndefined()
    }).pipe(Effect.provide(layer))
  })

  it.effect("reads the token with any Config, as the README shows", () => {
    const transport = makeTransport([accepted])
    const VoucherifyLive = layerConfig(
      Config.map(
        Config.redacted("MY_VOUCHERIFY_TOKEN"),
        (token): VoucherifyConfig.Options => ({ auth: { _tag: "BearerToken", token } })
      )
    )
    return Effect.gen(function*() {
      yield* update
      expect(transport.requests[0].headers["authorization"]).toBe("Bearer tok_from_env")
    }).pipe(
      Effect.provide(VoucherifyLive.pipe(Layer.provide(transport.layer))),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MY_VOUCHERIFY_TOKEN", "tok_from_env"]])))
    )
  })

  it.effect("a 401 is an UnauthorizedError at once: the application renews its token", () => {
    const { layer, requests } = clientWith([unauthorized, accepted], { auth: bearer })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error._tag).toBe("UnauthorizedError")
      expect(requests).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })
})

describe("OAuth token requests and redirects", () => {
  it.live("a token request answered with a redirect is refused, with fetch too: the app keys go nowhere else", () =>
    Effect.gen(function*() {
      const elsewhere = yield* MockVoucherifyServer.MockVoucherifyServer.pipe(
        Effect.provide(MockVoucherifyServer.layer({ host: "127.0.0.2" }))
      )
      const error = yield* Effect.flatMap(Voucherify, (v) =>
        Effect.flip(v.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} }))).pipe(
        Effect.provide(MockVoucherifyServer.layerTest({
          faults: {
            rules: [{ fault: { _tag: "Redirect", status: 302, location: `${elsewhere.baseUrl}/v1/oauth/token` }, path: "/v1/oauth/token" }]
          },
          client: { oauthScopes: ["products"], retry: { maxRetries: 0 } },
          httpClient: FetchHttpClient.layer
        }))
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Redirect" })
      expect(yield* elsewhere.requests).toEqual([])
    }).pipe(Effect.scoped))
})

describe("OAuth and report downloads", () => {
  it.effect("a report on the cluster's download host gets the app keys, not a token, and asks for no token", () => {
    const requests: Array<RecordedRequest> = []
    const transport = HttpClient.make((request, url) =>
      Effect.sync(() => {
        requests.push({ method: request.method, url: url.toString(), headers: { ...request.headers }, body: "" })
        return HttpClientResponse.fromWeb(
          request,
          new Response("source_id,found,updated\r\nA,false,true\r\n", { status: 200, headers: { "content-type": "text/csv" } })
        )
      })
    )
    const client = layer({ auth: oauth(), retry: { maxRetries: 0 } }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, transport))
    )
    return Effect.gen(function*() {
      const voucherify = yield* Voucherify
      const rows = yield* Stream.runCollect(voucherify.readReport("https://download.voucherify.io/v1/r.csv?token=t0k"))
      expect(Chunk.toReadonlyArray(rows).map(({ found, id, updated }) => ({ id, found, updated }))).toEqual([
        { id: "A", found: false, updated: true }
      ])
      expect(requests).toHaveLength(1)
      expect(requests[0]!.headers).toMatchObject({ "x-app-id": APP_ID, "x-app-token": TOKEN })
      expect(requests[0]!.headers["authorization"]).toBeUndefined()
    }).pipe(Effect.provide(client))
  })
})

describe("OAuth against the loopback MockVoucherifyServer", () => {
  /** The real client with OAuth scopes, over undici, talking to a fresh server. */
  const served = (scopes: ReadonlyArray<string>) =>
    MockVoucherifyServer.layerTest({ client: { oauthScopes: scopes, retry: { maxRetries: 0 } } })
  const ids = ["p1", "p2", "p3"]
  const paths = (log: ReadonlyArray<MockVoucherifyServer.RecordedRequest>) => log.map((r) => `${r.method} ${r.url.split("?")[0]}`)

  it.live("updates with a token, renews it after the server forgets it, and retries once", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const voucherify = yield* Voucherify
      const { async_action_id } = yield* voucherify.updateProductsMetadataInBulk({ source_ids: ids, metadata: { a: 1 } })
      yield* voucherify.awaitAsyncAction(async_action_id)
      expect(yield* server.checkMetadata("products", ids, { a: 1 })).toMatchObject({ checked: 3, missing: 0, mismatched: 0 })
      const first = yield* server.requests
      expect(paths(first).slice(0, 2)).toEqual(["POST /v1/oauth/token", "POST /v1/products/metadata/async"])
      expect(first.filter((r) => r.url === "/v1/oauth/token")).toHaveLength(1)
      expect(first.slice(1).every((r) => r.headers["authorization"]?.startsWith("Bearer "))).toBe(true)
      expect(first.slice(1).every((r) => r.headers["x-app-token"] === undefined)).toBe(true)

      // every token issued so far is now unknown to the server: the cached one answers 401
      yield* server.reset
      yield* voucherify.updateProductsMetadataInBulk({ source_ids: ids, metadata: { a: 2 } })
      const second = yield* server.requests
      expect(second.map((r) => `${r.status} ${r.method} ${r.url}`)).toEqual([
        "401 POST /v1/products/metadata/async",
        "200 POST /v1/oauth/token",
        "202 POST /v1/products/metadata/async"
      ])
    }).pipe(Effect.provide(served(["products", "async-actions"]))))

  it.live("an unknown scope fails with the server's invalid_scope key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error).toMatchObject({ _tag: "BadRequestError", status: 400, key: "invalid_scope" })
      const log = yield* Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (s) => s.requests)
      expect(paths(log)).toEqual(["POST /v1/oauth/token"])
    }).pipe(Effect.provide(served(["products", "no-such-scope"]))))

  it.live("a token whose scopes do not cover the endpoint is a ForbiddenError, not a renewal", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(update)
      expect(error).toMatchObject({ _tag: "ForbiddenError", status: 403 })
      const log = yield* Effect.flatMap(MockVoucherifyServer.MockVoucherifyServer, (s) => s.requests)
      expect(paths(log)).toEqual(["POST /v1/oauth/token", "POST /v1/products/metadata/async"])
    }).pipe(Effect.provide(served(["customers"]))))
})
