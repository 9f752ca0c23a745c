/**
 * A real HTTP server on loopback that speaks the Voucherify bulk API: the
 * three `POST /v1/{products,customers,vouchers}/metadata/async` endpoints,
 * the three per-record `POST /v1/{products,customers,vouchers}/bulk/async`
 * ones, async actions, OAuth tokens and record look-ups, with the
 * documented bodies and status codes, optional rate limits, and seeded fault
 * injection. Integration tests, the demo and the benchmarks run against it
 * with no Voucherify account. Run it alone with
 * `npm run mock-server -- --port 3000`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Voucherify } from "effect-voucherify"
 * import { MockVoucherifyServer } from "effect-voucherify/testing"
 *
 * // a fresh server on a free loopback port, and a Voucherify client wired to it
 * const ClientLive = MockVoucherifyServer.layerTest({ processingDelay: "50 millis" })
 *
 * const program = Effect.gen(function*() {
 *   const voucherify = yield* Voucherify.Voucherify
 *   const server = yield* MockVoucherifyServer.MockVoucherifyServer
 *   const { async_action_id } = yield* voucherify.updateProductsMetadataInBulk({
 *     source_ids: ["p1", "p2"],
 *     metadata: { origin: "PL" }
 *   })
 *   yield* voucherify.awaitAsyncAction(async_action_id)
 *   return yield* server.checkMetadata("products", ["p1", "p2"], { origin: "PL" })
 * }).pipe(Effect.provide(ClientLive))
 * ```
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import * as Voucherify from "../Voucherify.js"
import * as VoucherifyConfig from "../VoucherifyConfig.js"
import type { InvalidRequestError } from "../VoucherifyError.js"
import type { AsyncAction, BulkTarget, Metadata } from "../VoucherifySchema.js"
import * as faults from "./internal/mockServer/faults.js"
import * as internal from "./internal/mockServer/server.js"

/**
 * The three kinds of records the server stores.
 *
 * @since 0.1.0
 * @category models
 */
export type Target = BulkTarget

/**
 * Records to start with: a list of ids (with empty metadata) or ids mapped
 * to their metadata. Vouchers are never created by a bulk update, so a test
 * of `POST /v1/vouchers/metadata/async` seeds the codes it expects to find.
 *
 * @since 0.1.0
 * @category models
 */
export type SeedRecords = Iterable<string> | { readonly [id: string]: Metadata }

/**
 * The `X-Rate-Limit-Type` values the server can answer with.
 *
 * @since 0.1.0
 * @category models
 */
export type RateLimitType = "api_calls" | "bulk_api_calls" | "api_calls_cycle"

/**
 * Quotas, each off unless given. A window starts at the first request
 * counted in it, so that a test does not straddle a wall-clock minute.
 * Requests refused with 429 are not counted.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimits {
  /** Authenticated requests of any kind per minute (`api_calls`). */
  readonly apiCallsPerMinute?: number | undefined
  /** Bulk requests (metadata and per-record) per minute (`bulk_api_calls`). */
  readonly bulkCallsPerMinute?: number | undefined
  /** Bulk requests (metadata and per-record) per hour (`bulk_api_calls`), like the real plan quota. */
  readonly bulkCallsPerHour?: number | undefined
  /**
   * A bulk quota (`bulk_api_calls`) of `calls` per `window` of any length,
   * so that a test can wait out a window of seconds. Windows are aligned to
   * multiples of their length since the epoch, as a clock hour is.
   */
  readonly bulkQuota?: { readonly calls: number; readonly window: Duration.DurationInput } | undefined
  /**
   * Authenticated requests per billing cycle (`api_calls_cycle`, a 30-day
   * window). `0` starts exhausted; see also {@link Service.exhaustCycle}.
   */
  readonly apiCallsPerCycle?: number | undefined
}

/**
 * What goes wrong when a {@link FaultRule} fires.
 *
 * - `ServerError`: 500, 502, 503 or 504 with a Voucherify JSON body
 *   (`json`), the gateway shape (`gateway`), an HTML page (`html`) or
 *   nothing (`empty`). Default status 503; default body: `json` for 500,
 *   `gateway` for 503, `html` for 502 and 504. Nothing is processed.
 * - `RateLimited`: 429 with `Retry-After` (`retryAfter`, default 1 second,
 *   finite) and `X-Rate-Limit-Type` (`limitType`, default `api_calls`).
 *   Nothing is processed.
 * - `ResetBeforeBody`: the connection is destroyed before the body is read.
 * - `ResetAfterProcessing`: the request is processed (an async action is
 *   created), then the connection is destroyed instead of answering.
 * - `Delay`: the request is processed, and the answer waits `duration`.
 * - `MalformedJson`: the request is processed; the 2xx answer is cut-off JSON.
 * - `Redirect`: a 307 (by default) to another address, by default
 *   `http://127.0.0.2:<port><path>`. Nothing is processed.
 * - `ActionFailed`: the request is processed as usual; the async action a
 *   bulk request creates ends `FAILED` and changes no record. (Any other
 *   request that draws it is answered as usual.)
 *
 * `VoucherifyTest` takes the same faults: there, a reset is a
 * `TransportError` and a delay runs on the `Clock`.
 *
 * Durations are `Duration.DurationInput`s of 0 or more: a number is
 * milliseconds, as in the JSON of `npm run mock-server -- --faults`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Fault: Schema.Schema<faults.Fault> = faults.Fault

/**
 * @since 0.1.0
 * @category models
 */
export type Fault = Schema.Schema.Type<typeof Fault>

/**
 * When a {@link Fault} fires. Rules are tried in order for each request
 * that matches `method` (default: every method) and `path` (the exact path
 * without query, or a `RegExp` tested against it; default: every path);
 * each draws one number from the seeded generator and fires when it is
 * below `rate` (a probability from 0 to 1, default 1); the first rule that
 * fires wins. With `first`, only the first N requests that match the rule
 * can fire it.
 *
 * @since 0.2.0
 * @category schemas
 */
export const FaultRule: Schema.Schema<faults.FaultRule> = faults.FaultRule

/**
 * @since 0.1.0
 * @category models
 */
export type FaultRule = Schema.Schema.Type<typeof FaultRule>

/**
 * Fault rules and the seed of the generator their rates draw from (default
 * 1, a finite number): the same seed and requests give the same faults. The
 * one definition behind this type, {@link Service.setFaults}, the `faults`
 * option (here and in `VoucherifyTest`) and
 * `npm run mock-server -- --faults '<json>'`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { MockVoucherifyServer } from "effect-voucherify/testing"
 *
 * const faults = Schema.decodeUnknownSync(Schema.parseJson(MockVoucherifyServer.Faults))(
 *   `{"seed":7,"rules":[{"fault":{"_tag":"ServerError","status":503},"rate":0.1}]}`
 * )
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const Faults: Schema.Schema<faults.Faults> = faults.Faults

/**
 * @since 0.1.0
 * @category models
 */
export type Faults = Schema.Schema.Type<typeof Faults>

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `mock-app-id`. */
  readonly appId?: string | undefined
  /** Default `mock-app-token`. */
  readonly appToken?: Redacted.Redacted<string> | string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** How long each async action stays `IN_PROGRESS`. Default 0: done as soon as it is accepted. */
  readonly processingDelay?: Duration.DurationInput | undefined
  /** The gateway's body limit. Default 10485760. */
  readonly maxPayloadBytes?: number | undefined
  /** Lifetime of OAuth tokens. Default 15 minutes (`expires_in: 900`). */
  readonly tokenTtl?: Duration.DurationInput | undefined
  /**
   * How long the report file of a finished bulk update stays available
   * (`result.reports_available_till`); later it answers 410. Default 24 hours.
   */
  readonly reportTtl?: Duration.DurationInput | undefined
  /**
   * The origin the report URLs name (`result.reports`). Default: the
   * server's own, where it serves them. Another origin tests a client that
   * must not send its credentials there.
   */
  readonly reportOrigin?: string | undefined
  /** The records each kind starts with (and returns to on {@link Service.reset}). Default: none. */
  readonly records?: { readonly [K in Target]?: SeedRecords | undefined } | undefined
  /** Default: no quota. */
  readonly rateLimits?: RateLimits | undefined
  /** Default: no fault. */
  readonly faults?: Faults | undefined
  /** The request log keeps this many of the newest entries. Default 10000. */
  readonly maxRecordedRequests?: number | undefined
  /** `result.errors` of a voucher update lists at most this many unknown codes. Default 100. */
  readonly maxResultErrors?: number | undefined
}

/**
 * How a request ended, for assertions. `pending` while it runs; the reply's
 * outcome even when a late fault (`ResetAfterProcessing`, `MalformedJson`)
 * then spoiled the answer; `fault` when an early fault answered instead;
 * `client_aborted` when the client went away first.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | "pending"
  | "ok"
  | "accepted"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "invalid_payload"
  | "payload_too_large"
  | "rate_limited"
  | "fault"
  | "client_aborted"

/**
 * One entry of the request log.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  /** Arrival order, from 1. */
  readonly seq: number
  readonly method: string
  /** Path and query, as sent. */
  readonly url: string
  /** Lower-case names; `x-app-token` and `authorization` values masked. */
  readonly headers: Readonly<Record<string, string>>
  /** Body bytes the server took in; counting stops where a chunked body over the limit is cut off. */
  readonly bodyBytes: number
  /** Undefined when no answer was sent (a reset, a client that went away). */
  readonly status: number | undefined
  readonly outcome: Outcome
  readonly fault: Fault["_tag"] | undefined
  readonly asyncActionId: string | undefined
}

/**
 * A stored record: the fields per-record updates gave it (`name`, `price`,
 * `address`, ...: empty for a record only metadata updates touched) and
 * its metadata.
 *
 * @since 0.3.0
 * @category models
 */
export interface StoredRecord {
  readonly fields: Readonly<Record<string, unknown>>
  readonly metadata: Metadata
}

/**
 * The result of {@link Service.checkMetadata}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetadataCheck {
  readonly checked: number
  /** Ids with no record. */
  readonly missing: number
  /** Ids whose record lacks a key of the expected metadata or has another value. */
  readonly mismatched: number
  /** Up to 5 failing ids. */
  readonly examples: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** E.g. `http://127.0.0.1:40123`, without a trailing slash. */
  readonly baseUrl: string
  readonly port: number
  readonly appId: string
  readonly appToken: Redacted.Redacted<string>
  /** The stored metadata of one record. */
  readonly getMetadata: (target: Target, id: string) => Effect.Effect<Option.Option<Metadata>>
  /** A whole record: its fields and its metadata. */
  readonly getRecord: (target: Target, id: string) => Effect.Effect<Option.Option<StoredRecord>>
  /** How many records are stored. */
  readonly count: (target: Target) => Effect.Effect<number>
  /**
   * Checks that every id (a generator is fine for millions) has a record
   * carrying every key of `expected` with an equal value. Records share
   * metadata objects, so each distinct object is compared once.
   */
  readonly checkMetadata: (target: Target, ids: Iterable<string>, expected: Metadata) => Effect.Effect<MetadataCheck>
  /** The request log, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Every async action, oldest first, with its result. */
  readonly asyncActions: Effect.Effect<ReadonlyArray<AsyncAction>>
  /** Bytes read from every connection so far, headers included. */
  readonly bytesReceived: Effect.Effect<number>
  /**
   * Replaces the fault rules and restarts the generator from their seed.
   * Rules that do not hold up (a `rate` outside 0..1, a negative `first`)
   * fail with `InvalidRequestError` naming the field, and change nothing.
   */
  readonly setFaults: (faults: Faults | undefined) => Effect.Effect<void, InvalidRequestError>
  /** From now on every request answers 429 `api_calls_cycle`, until {@link reset}. */
  readonly exhaustCycle: Effect.Effect<void>
  /**
   * Back to the start: seeded records only, no actions, an empty log, fresh
   * quotas, no tokens, and the fault generator restarted from its seed.
   */
  readonly reset: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class MockVoucherifyServer extends Context.Tag("effect-voucherify/testing/MockVoucherifyServer")<
  MockVoucherifyServer,
  Service
>() {}

/**
 * Starts the server (it stops when the layer's scope closes) and provides
 * {@link MockVoucherifyServer}. Options that do not hold up (a `NaN` or
 * non-positive `maxPayloadBytes`, a negative `processingDelay`, a fault
 * `rate` outside 0..1) fail the layer with `InvalidRequestError`, whose
 * `path` names the option (`faults.rules[0].rate`), before it listens.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<MockVoucherifyServer, HttpServerError.ServeError | InvalidRequestError> =>
  Layer.scoped(MockVoucherifyServer, internal.make(options))

/**
 * Client settings for {@link layerClientConfig}: everything
 * `VoucherifyConfig.Options` takes except where and who, which come from
 * the server. `oauthScopes` switches the client to OAuth tokens.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientOptions =
  & Omit<VoucherifyConfig.Options, "appId" | "appToken" | "auth" | "baseUrl" | "cluster">
  & { readonly oauthScopes?: ReadonlyArray<string> | undefined }

/**
 * `VoucherifyConfig` pointing at the running server with the credentials it
 * accepts, so that `Voucherify.layerWithoutConfig` talks to it ({@link layerTest}
 * does the whole wiring).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClientConfig = (
  options: ClientOptions = {}
): Layer.Layer<VoucherifyConfig.VoucherifyConfig, ConfigError.ConfigError, MockVoucherifyServer> =>
  Layer.unwrapEffect(
    Effect.map(MockVoucherifyServer, (server) => {
      const { oauthScopes, ...rest } = options
      const credentials = { appId: server.appId, appToken: server.appToken }
      return VoucherifyConfig.layer({
        ...rest,
        baseUrl: server.baseUrl,
        ...(oauthScopes === undefined ? credentials : { auth: { _tag: "OAuth", ...credentials, scopes: oauthScopes } })
      })
    })
  )

/**
 * The client side of {@link layerTest}: its settings and its transport.
 *
 * @since 0.2.0
 * @category models
 */
export interface TestClientOptions {
  /**
   * The client's settings. Default: retries 10 ms apart at first, at most
   * 100 ms apart, so that a test over faults stays quick.
   */
  readonly client?: ClientOptions | undefined
  /** The transport the client uses. Default `NodeHttpClient.layerUndici`. */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
}

/**
 * What {@link layerTest} takes: the server's {@link Options} and the client's.
 *
 * @since 0.2.0
 * @category models
 */
export interface TestOptions extends Options, TestClientOptions {}

/**
 * The retry delays of {@link layerTest}'s client unless `client.retry` says otherwise.
 *
 * @since 0.2.0
 * @category constants
 */
export const testRetry: VoucherifyConfig.RetryOptions = { baseDelay: "10 millis", maxDelay: "100 millis" }

/**
 * A `Voucherify` client wired to a running server (the one in context), as
 * {@link layerTest} builds it: for suites that share one server among tests
 * that need clients of different settings.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClient = (
  options: TestClientOptions = {}
): Layer.Layer<Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig, ConfigError.ConfigError, MockVoucherifyServer> =>
  Voucherify.layerWithoutConfig.pipe(
    Layer.provideMerge(layerClientConfig({ ...options.client, retry: { ...testRetry, ...options.client?.retry } })),
    Layer.provide(options.httpClient ?? NodeHttpClient.layerUndici)
  )

/**
 * A fresh server on a free loopback port and a `Voucherify` client wired to
 * it (config pointed at the server, its credentials, a transport, short
 * retry delays), in one layer: the way `NodeHttpServer.layerTest` gives a
 * server and a client together. The server stops when the layer's scope
 * closes.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { BulkMetadata } from "effect-voucherify"
 * import { MockVoucherifyServer } from "effect-voucherify/testing"
 *
 * const ids = Stream.range(1, 1000).pipe(Stream.map((i) => `p${i}`))
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* MockVoucherifyServer.MockVoucherifyServer
 *   yield* BulkMetadata.run(ids, { target: "products", metadata: { origin: "PL" }, await: true })
 *   return yield* server.count("products") // 1000
 * }).pipe(Effect.provide(MockVoucherifyServer.layerTest({ client: { retry: { maxRetries: 0 } } })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest = (
  options: TestOptions = {}
): Layer.Layer<
  MockVoucherifyServer | Voucherify.Voucherify | VoucherifyConfig.VoucherifyConfig,
  HttpServerError.ServeError | InvalidRequestError | ConfigError.ConfigError
> => {
  const { client, httpClient, ...server } = options
  return layerClient({ client, httpClient }).pipe(Layer.provideMerge(layer(server)))
}
