/**
 * The app token, an OAuth token and an application's bearer token must never
 * leave the Authorization/X-App-Token header: not in errors (message, String,
 * JSON, inspect, Cause.pretty), logs, or spans.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRun from "../src/BulkRun.js"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import * as VoucherifyModule from "../src/Voucherify.js"
import { Voucherify } from "../src/Voucherify.js"
import * as VoucherifyConfigModule from "../src/VoucherifyConfig.js"
import { type Auth, VoucherifyConfig } from "../src/VoucherifyConfig.js"
import type { VoucherifyError } from "../src/VoucherifyError.js"
import * as VoucherifyHttpClient from "../src/VoucherifyHttpClient.js"
import { AsyncAction } from "../src/VoucherifySchema.js"
import { APP_ID, clientWith, TOKEN } from "./support/client.js"
import { makeObserver } from "./support/observe.js"
import { hostile, json } from "./support/hostile.js"
import type { Reply } from "./support/transport.js"

/** Every way a value can be turned into text. */
export const renderings = (value: unknown): Array<string> => [
  String(value),
  JSON.stringify(value) ?? "",
  inspect(value, { depth: 10, showHidden: true }),
  value instanceof Error ? value.message : "",
  value instanceof Error ? value.stack ?? "" : "",
  Cause.pretty(Cause.fail(value)),
  Cause.pretty(Cause.die(value))
]

/**
 * One update through `layer`, its outcome logged; every rendering of the
 * config, the outcome and its error goes into `texts`.
 */
const updateObserved = (
  label: string,
  layer: Layer.Layer<Voucherify | VoucherifyConfig, ConfigError.ConfigError>,
  texts: Array<string>
) =>
  Effect.gen(function*() {
    const config = yield* VoucherifyConfig
    texts.push(...renderings(config), ...renderings(config.auth))
    return yield* Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { a: 1 } }))
  }).pipe(
    Effect.tapErrorCause((cause) => Effect.logError(`${label} failed`, cause)),
    Effect.tap((result) => Effect.log(`${label} succeeded`, result)),
    Effect.either,
    Effect.provide(layer),
    Effect.tap((outcome) => {
      texts.push(...renderings(outcome), ...(outcome._tag === "Left" ? renderings(outcome.left) : []))
    })
  )

const replies: Array<[string, Reply]> = [
  ["202", { status: 202, body: { async_action_id: "aa_1" } }],
  ["401", { status: 401, body: { code: 401, message: "Unauthorized", key: "unauthorized" } }],
  // a misbehaving proxy that echoes the request's headers back into its error page
  ["500 echo", { status: 500, body: `<pre>x-app-token: ${TOKEN}</pre>` }],
  ["429", { status: 429, body: { code: 429 }, headers: { "retry-after": "99999" } }],
  ["redirect", { status: 302, headers: { location: "https://elsewhere.example.com/" } }],
  ["transport", { transportError: "connect ECONNREFUSED" }],
  ["bad json", { status: 202, body: "{not json" }]
]

describe("secrets", () => {
  it.effect("the token reaches no error, log line or span, whatever the outcome", () =>
    Effect.gen(function*() {
      const observer = makeObserver()
      const texts: Array<string> = []
      for (const [label, reply] of replies) {
        const { layer, requests } = clientWith([reply], { retry: { maxRetries: 0 } })
        yield* updateObserved(label, Layer.merge(layer, observer.layer), texts)
        // the token did go on the wire, where it belongs
        expect(requests[0]?.headers["x-app-token"]).toBe(TOKEN)
      }
      const local = yield* Effect.flip(
        Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: [""], metadata: {} })).pipe(
          Effect.provide(clientWith([]).layer)
        )
      )
      texts.push(...renderings(local))

      const all = [...texts, observer.everything()].join("\n")
      const leaks = all.split("\n").filter((line) => line.includes(TOKEN))
      expect(leaks).toEqual([])
      expect(observer.spans.map((span) => span.name)).toContain("Voucherify.updateProductsMetadataInBulk")
      const http = observer.spans.find((span) => span.attributes.has("http.request.header.x-app-token"))
      expect(http?.attributes.get("http.request.header.x-app-token")).toBe("<redacted>")
      expect(all).toContain("<redacted>")
      expect(all).not.toContain(TOKEN)
      // not even a fragment of it
      expect(all).not.toContain(TOKEN.slice(4, 16))
    }))

  it.effect("spans are named after the method and carry counts and bytes", () =>
    Effect.gen(function*() {
      const observer = makeObserver()
      const { layer } = clientWith([{ status: 202, body: { async_action_id: "aa_9" } }])
      yield* Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: ["a", "b"], metadata: {} }))
        .pipe(Effect.provide(Layer.merge(layer, observer.layer)))
      const span = observer.spans.find((s) => s.name === "Voucherify.sendEncodedBulkRequest")
      expect(span?.attributes.get("voucherify.ids")).toBe(2)
      expect(span?.attributes.get("voucherify.bytes")).toBe(`{"source_ids":["a","b"],"metadata":{}}`.length)
      expect(span?.attributes.get("voucherify.async_action_id")).toBe("aa_9")
    }))

  describe("bearer tokens", () => {
    const OAUTH_TOKEN = "tok_OAUTHsecret_7f3a9c21"
    const BEARER_TOKEN = "tok_BEARERsecret_5d1e8b40"
    const issued: Reply = {
      status: 200,
      body: { access_token: OAUTH_TOKEN, expires_at: 900, expires_in: 900, scope: "api", token_type: "Bearer" }
    }
    const oauth: Auth = { _tag: "OAuth", appId: APP_ID, appToken: Redacted.make(TOKEN), scopes: ["api"] }
    const bearer: Auth = { _tag: "BearerToken", token: Redacted.make(BEARER_TOKEN) }
    const unauthorized: Reply = { status: 401, body: { code: 401, message: "Unauthorized", key: "unauthorized" } }
    const echo = (secret: string): Reply => ({ status: 500, body: `<pre>authorization: Bearer ${secret}</pre>` })

    const scenarios: Array<[string, Auth, ReadonlyArray<Reply>]> = [
      ["oauth 202", oauth, [issued, replies[0][1]]],
      ["oauth 500 echo", oauth, [issued, echo(OAUTH_TOKEN)]],
      ["oauth 401 twice", oauth, [issued, unauthorized, issued, unauthorized]],
      ["oauth token request echoes the app token", oauth, [replies[2][1]]],
      ["oauth invalid scope", oauth, [{ status: 400, body: { code: 400, key: "invalid_scope", message: "Invalid scope" } }]],
      ["oauth transport", oauth, [issued, { transportError: "socket hang up" }]],
      ["bearer 202", bearer, [replies[0][1]]],
      ["bearer 401", bearer, [unauthorized]],
      ["bearer 500 echo", bearer, [echo(BEARER_TOKEN)]],
      ["bearer transport", bearer, [{ transportError: "connect ECONNREFUSED" }]]
    ]

    it.effect("no token reaches an error, a log line or a span, whatever the outcome", () =>
      Effect.gen(function*() {
        const observer = makeObserver()
        const texts: Array<string> = []
        for (const [label, auth, script] of scenarios) {
          const { layer, requests } = clientWith(script, { auth, retry: { maxRetries: 0 } })
          yield* updateObserved(label, Layer.merge(layer, observer.layer), texts)
          // each token did go on the wire, where it belongs
          const sent = requests.map((r) => r.headers["authorization"] ?? r.headers["x-app-token"])
          expect(sent.some((value) => value !== undefined && [TOKEN, `Bearer ${OAUTH_TOKEN}`, `Bearer ${BEARER_TOKEN}`].includes(value)))
            .toBe(true)
        }
        const all = [...texts, observer.everything()].join("\n")
        for (const secret of [TOKEN, OAUTH_TOKEN, BEARER_TOKEN]) {
          expect(all.split("\n").filter((line) => line.includes(secret.slice(4, 16)))).toEqual([])
        }
        const authorization = observer.spans.filter((span) => span.attributes.has("http.request.header.authorization"))
        expect(authorization.length).toBeGreaterThan(0)
        for (const span of authorization) {
          expect(span.attributes.get("http.request.header.authorization")).toBe("<redacted>")
        }
        expect(observer.spans.map((span) => span.name)).toContain("Voucherify.requestOAuthToken")
      }))
  })
})

describe("report tokens", () => {
  it.live("a report URL's token reaches no error, log line, span or report, and no credential goes to another host", () =>
    Effect.gen(function*() {
      const observer = makeObserver()
      const texts: Array<string> = []
      const tokens: Array<string> = []
      const run = (ids: ReadonlyArray<string>) =>
        BulkMetadata.run(ids, {
          target: "products",
          metadata: { m: 1 },
          await: { timeout: "10 seconds" },
          onCreated: () => Effect.log("created")
        }).pipe(
          Effect.tap((report) =>
            Effect.gen(function*() {
              const server = yield* MockVoucherifyServer.MockVoucherifyServer
              const voucherify = yield* Voucherify
              for (const action of yield* server.asyncActions) {
                for (const url of action.result?.reports ?? []) tokens.push(new URL(Redacted.value(url)).searchParams.get("token")!)
                // the action as the server holds it, and as the client decodes it: printed, logged, encoded
                const fetched = yield* voucherify.getAsyncAction(action.id)
                texts.push(...renderings(action), ...renderings(fetched), JSON.stringify([action, fetched]))
                yield* Effect.log("action", action, fetched)
              }
              texts.push(...renderings(report), Schema.encodeSync(BulkRun.ReportFromJson)(report))
              yield* Effect.log("report", report)
            })
          ),
          Effect.withSpan("caller")
        )
      // read, then expired (410 from the server), then on a host that gets no credentials
      yield* run(["a", "b"]).pipe(Effect.provide(Layer.merge(MockVoucherifyServer.layerTest(), observer.layer)))
      yield* Effect.flatMap(Voucherify, (voucherify) =>
        Effect.gen(function*() {
          const server = yield* MockVoucherifyServer.MockVoucherifyServer
          yield* voucherify.updateProductsMetadataInBulk({ source_ids: ["c"], metadata: {} })
          yield* Effect.sleep("100 millis")
          const [action] = yield* server.asyncActions
          const url = Redacted.value(action!.result!.reports![0]!)
          tokens.push(new URL(url).searchParams.get("token")!)
          const gone = yield* Effect.flip(Stream.runDrain(voucherify.readReport(url)))
          texts.push(...renderings(gone))
          yield* Effect.logError("gone", gone)
        })).pipe(Effect.provide(Layer.merge(MockVoucherifyServer.layerTest({ reportTtl: "10 millis" }), observer.layer)))
      yield* run(["d"]).pipe(
        Effect.provide(Layer.merge(MockVoucherifyServer.layerTest({ reportOrigin: "https://elsewhere.example.com" }), observer.layer))
      )
      expect(tokens.length).toBe(3)
      const all = [...texts, observer.everything()].join("\n")
      for (const token of tokens) expect(all).not.toContain(token)
      expect(observer.spans.map((span) => span.name)).toContain("Voucherify.readReport")
      // the last run's report was not read, for the host rule, not for a failed download
      expect(all).toContain("elsewhere.example.com/v1/async-actions-reports/")
      expect(all).toContain("is not on a host that gets the credentials")
    }))
})

describe("secrets a server echoes back in its answers", () => {
  const OAUTH_TOKEN = "tok_OAUTHechoed_51c2d3e4"
  const BEARER_TOKEN = "tok_BEARERechoed_a9b8c7d6"
  const REPORT_TOKEN = "rep_9f8e7d6c5b4a39281706"
  const reportUrl = `https://api.voucherify.io/v1/async-actions-reports/aa_1.csv?token=${REPORT_TOKEN}`
  /** An action that repeats `secret` (what the server was sent) wherever a string goes, and its report's token too. */
  const echoing = (secret: string, status = "FAILED"): Reply => ({
    status: 200,
    body: {
      id: "aa_1",
      type: "PRODUCTS.METADATA_UPDATE",
      status,
      request_id: `req ${secret}`,
      result: {
        done_count: 1,
        failed_count: 1,
        errors: [{ message: `X-App-Token ${secret}`, details: `token=${REPORT_TOKEN}`, key: secret, [secret]: [secret] }],
        reports: [reportUrl],
        [`note ${secret}`]: { nested: `Bearer ${secret} ${reportUrl}` }
      }
    }
  })
  const issued: Reply = { status: 200, body: { access_token: OAUTH_TOKEN, expires_in: 900, expires_at: 900 } }
  const report = (secret: string): Reply => ({
    status: 200,
    body: `source_id,found,updated,note ${secret}\n${secret},false,true,${REPORT_TOKEN}\nid_2,true,false,${secret}\n`
  })
  // each: how it authenticates, what it is sent first, and the secrets it knows, which the server echoes
  const scenarios: Array<[string, Auth, ReadonlyArray<Reply>, string]> = [
    ["app keys", { _tag: "AppKeys", appId: APP_ID, appToken: Redacted.make(TOKEN) }, [], TOKEN],
    ["oauth", { _tag: "OAuth", appId: APP_ID, appToken: Redacted.make(TOKEN), scopes: ["api"] }, [issued], `${OAUTH_TOKEN} ${TOKEN}`],
    ["bearer", { _tag: "BearerToken", token: Redacted.make(BEARER_TOKEN) }, [], BEARER_TOKEN]
  ]

  it.effect("no rendering or log of an action, its error, a report row or a refused acceptance shows one", () =>
    Effect.gen(function*() {
      const observer = makeObserver()
      const texts: Array<string> = []
      for (const [label, auth, first, echoed] of scenarios) {
        const broken: Reply = { status: 400, body: { code: 400, message: `no file for token=${REPORT_TOKEN} ${echoed}` } }
        const { layer } = clientWith([...first, echoing(echoed), echoing(echoed), report(echoed), broken], {
          auth,
          retry: { maxRetries: 0 }
        })
        yield* Effect.gen(function*() {
          const voucherify = yield* Voucherify
          const action = yield* voucherify.getAsyncAction("aa_1")
          const failed = yield* Effect.flip(voucherify.awaitAsyncAction("aa_1"))
          const rows = yield* Stream.runCollect(voucherify.readReport(action.result!.reports![0]!))
          // the download host answers an error that repeats the report's token and the credentials
          const refused = yield* Effect.flip(Stream.runDrain(voucherify.readReport(action.result!.reports![0]!)))
          expect(refused).toMatchObject({ _tag: "BadRequestError", serverMessage: expect.stringContaining("token=<redacted>") })
          texts.push(...renderings(action), ...renderings(failed), ...renderings(rows), ...renderings(refused))
          texts.push(JSON.stringify(action.result), inspect(action.result?.reports))
          yield* Effect.log(label, action, failed, rows)
          // the reader has the URL itself, and the wire form gives it back whole
          expect(Redacted.value(action.result!.reports![0]!)).toBe(reportUrl)
          expect(Schema.encodeSync(AsyncAction)(action).result?.reports).toEqual([reportUrl])
          expect(String(action.result!.reports![0])).toBe("<redacted>")
          expect(action.result?.errors?.[0]?.message).toMatch(/^X-App-Token <redacted>( <redacted>)?$/)
          expect(failed.message).toContain("FAILED: X-App-Token <redacted>")
          expect([...rows].map((row) => row.id)).toEqual([echoed.split(" ").map(() => "<redacted>").join(" "), "id_2"])
        }).pipe(Effect.provide(Layer.merge(layer, observer.layer)))
      }
      // an acceptance that names a secret as its action is refused, without repeating it
      const { layer } = clientWith([{ status: 202, body: { async_action_id: TOKEN.replace(/[^\w-]/g, "") } }])
      const refused = yield* Effect.flip(
        Effect.flatMap(Voucherify, (v) => v.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} })).pipe(
          Effect.provide(layer)
        )
      )
      expect(refused).toMatchObject({ _tag: "ResponseDecodeError", status: 202 })
      texts.push(...renderings(refused))

      const all = [...texts, observer.everything()].join("\n")
      expect(all).toContain("<redacted>")
      for (const secret of [TOKEN, OAUTH_TOKEN, BEARER_TOKEN, REPORT_TOKEN]) {
        expect(all).not.toContain(secret)
        expect(all).not.toContain(secret.slice(4, 16))
      }
    }))
})

describe("an OAuth token echoed back through a wrapped client", () => {
  const OAUTH_TOKEN = "tok.wrapped.OAUTH.5e7a91c3"
  const REPORT_TOKEN = "rep7c6b5a4938271605f4e3"
  /** The bearer token a request carried, which the server then echoes. */
  const bearerOf = (headers: { readonly authorization?: string | undefined }) =>
    headers.authorization?.replace(/^Bearer /, "") ?? "no token"
  const echoing = () =>
    hostile((request, response) => {
      const token = bearerOf(request.headers)
      const path = request.url.split("?")[0]
      if (path === "/v1/oauth/token") return json(response, 200, { access_token: OAUTH_TOKEN, expires_in: 900, expires_at: 900 })
      if (path === "/v1/products/metadata/async") return json(response, 202, { async_action_id: token })
      if (path === "/v1/async-actions/aa_status") return json(response, 200, { id: "aa_status", type: "X", status: token })
      if (path === "/v1/async-actions/aa_errors") {
        return json(response, 200, {
          id: "aa_errors",
          type: "PRODUCTS.METADATA_UPDATE",
          status: "DONE",
          result: { errors: [{ message: `Bearer ${token}`, key: token, details: token }] }
        })
      }
      if (path === "/v1/reports/rows.csv") {
        response.writeHead(200, { "content-type": "text/csv" })
        return response.end(`source_id,found,updated,note ${token}\n${token},false,true,${token}\n`)
      }
      if (path === "/v1/reports/broken.csv") {
        response.writeHead(200, { "content-type": "text/csv" })
        return response.end(`source_id,found,updated\nid_1,${token},true\n`)
      }
      json(response, 404, { code: 404 })
    })

  /** `Voucherify` with OAuth over a `VoucherifyHttpClient` that `wrap` maps, as an application would. */
  const layerWrapped = (baseUrl: string, wrap: (client: HttpClient.HttpClient.With<VoucherifyError>) => HttpClient.HttpClient.With<VoucherifyError>) =>
    Layer.effect(Voucherify, VoucherifyModule.make).pipe(
      Layer.provide(
        Layer.effect(
          VoucherifyHttpClient.VoucherifyHttpClient,
          Effect.map(VoucherifyHttpClient.VoucherifyHttpClient, (service) => ({ ...service, client: wrap(service.client) }))
        ).pipe(Layer.provide(VoucherifyHttpClient.layer))
      ),
      Layer.provideMerge(
        VoucherifyConfigModule.layer({ auth: { _tag: "OAuth", appId: APP_ID, appToken: Redacted.make(TOKEN), scopes: ["api"] }, baseUrl, retry: { maxRetries: 0 } })
      ),
      Layer.provide(NodeHttpClient.layerUndici)
    )

  const wrappers: Array<[string, (client: HttpClient.HttpClient.With<VoucherifyError>) => HttpClient.HttpClient.With<VoucherifyError>]> = [
    ["mapRequest", HttpClient.mapRequest(HttpClientRequest.setHeader("x-wrapped", "map"))],
    ["tapRequest", HttpClient.tapRequest((request) => Effect.logDebug(`sending ${request.method}`))]
  ]

  for (const [label, wrap] of wrappers) {
    it.live(`is scrubbed from a 202, an action, its errors and a report (${label})`, () =>
      Effect.gen(function*() {
        const server = yield* echoing()
        const texts: Array<string> = []
        const render = (value: unknown) => [String(value), JSON.stringify(value) ?? "", Cause.pretty(Cause.fail(value))]
        yield* Effect.gen(function*() {
          const voucherify = yield* Voucherify
          // (a) a 202 whose async_action_id is the token
          const accepted = yield* Effect.flip(voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: {} }))
          expect(accepted).toMatchObject({ _tag: "ResponseDecodeError", status: 202 })
          // (b) an action whose status is the token, and one whose errors repeat it
          const status = yield* Effect.flip(voucherify.getAsyncAction("aa_status"))
          expect(status).toMatchObject({ _tag: "ResponseDecodeError", status: 200 })
          const action = yield* voucherify.getAsyncAction("aa_errors")
          expect(action.result?.errors?.[0]).toMatchObject({ message: "Bearer <redacted>", key: "<redacted>" })
          // (c) a report file's rows, and its decode error
          const rows = yield* Stream.runCollect(voucherify.readReport(`${server.baseUrl}/v1/reports/rows.csv?token=${REPORT_TOKEN}`))
          expect([...rows].map((row) => row.id)).toEqual(["<redacted>"])
          const broken = yield* Effect.flip(Stream.runDrain(voucherify.readReport(`${server.baseUrl}/v1/reports/broken.csv`)))
          expect(broken).toMatchObject({ _tag: "ReportDecodeError" })
          for (const value of [accepted, status, action, rows, broken]) texts.push(...render(value), ...renderings(value))
          texts.push(JSON.stringify(action.result))
        }).pipe(Effect.provide(layerWrapped(server.baseUrl, wrap)))
        // the token did go out, and did come back
        const sent = server.requests.filter((r) => r.url !== "/v1/oauth/token").map((r) => r.headers.authorization)
        expect(sent).toHaveLength(5)
        for (const header of sent) expect(header).toBe(`Bearer ${OAUTH_TOKEN}`)
        if (label === "mapRequest") expect(server.requests.at(-1)?.headers["x-wrapped"]).toBe("map")
        const all = texts.join("\n")
        expect(all).toContain("<redacted>")
        for (const secret of [OAUTH_TOKEN, TOKEN, REPORT_TOKEN]) {
          // a report's column names are lower-cased: not even so
          expect(all.toLowerCase()).not.toContain(secret.toLowerCase())
          expect(all).not.toContain(secret.slice(4, 16))
        }
      }).pipe(Effect.scoped))
  }
})
