/**
 * Every way a call to Voucherify can fail, as data.
 *
 * Each error is a `Schema.TaggedError`, so it can be matched with
 * `Effect.catchTag`, encoded, logged and compared. None of them ever holds a
 * credential: they are built from status codes, response headers and bodies,
 * never from the outgoing request.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { Voucherify } from "effect-voucherify"
 *
 * const update = Effect.flatMap(Voucherify.Voucherify, (voucherify) =>
 *   voucherify.updateProductsMetadataInBulk({ source_ids: ["p1"], metadata: { origin: "PL" } })
 * ).pipe(
 *   Effect.map((accepted) => accepted.async_action_id),
 *   // the retries are spent or the wait is too long: say when to come back
 *   Effect.catchTag("RateLimitError", (error) =>
 *     Effect.fail(`rate limited (${error.limitType}), retry in ${Duration.format(error.retryAfter ?? "1 hour")}`)),
 *   // a 401 or 403 will not go away by retrying
 *   Effect.catchTags({
 *     UnauthorizedError: (error) => Effect.fail(`check the credentials: ${error.message}`),
 *     ForbiddenError: (error) => Effect.fail(`check the cluster and scopes: ${error.message}`)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { UntrustedUrlError } from "./internal/http/credentialHosts.js"
import { ErrorBody } from "./internal/http/wire.js"
import { AsyncAction } from "./VoucherifySchema.js"

/**
 * The fields Voucherify puts in its usual error body
 * (`{code, key, message, details, request_id, resource_id, resource_type}`).
 * `code` is whatever the body said (the 429 body even types it as a string);
 * the HTTP status is kept apart in `status`.
 *
 * @since 0.1.0
 * @category fields
 */
const ApiErrorFields = { status: Schema.Number, ...ErrorBody.fields }

/** Builds the readable part shared by the errors that carry a server body. */
const describe = (self: ErrorBody & { readonly status: number }, headline: string): string => {
  let text = `${headline} (HTTP ${self.status}${self.key ? `, key ${self.key}` : ""})`
  const detail = [self.serverMessage, self.details].filter(Boolean).join(": ")
  if (detail) text += `: ${detail}`
  if (self.request_id) text += ` [request ${self.request_id}]`
  return text
}

/**
 * Marks the errors of the {@link VoucherifyError} union, so that
 * {@link isVoucherifyError} needs no list of tags.
 *
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-voucherify/VoucherifyError")

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The request body is larger than Voucherify accepts (10 MB by default).
 * `source: "local"` means it was caught before sending and nothing was sent;
 * `source: "server"` means the gateway answered 413.
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLargeError extends Schema.TaggedError<PayloadTooLargeError>()("PayloadTooLargeError", {
  source: Schema.Literal("local", "server"),
  limit: Schema.Number,
  bytes: Schema.optional(Schema.Number),
  status: Schema.optional(Schema.Literal(413)),
  serverMessage: Schema.optional(Schema.String)
}) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const size = this.bytes === undefined ? "the request body" : `the request body of ${this.bytes} bytes`
    return this.source === "local"
      ? `${size} exceeds the limit of ${this.limit} bytes; nothing was sent`
      : `Voucherify refused ${size} as too large (HTTP 413, limit ${this.limit} bytes)${
        this.serverMessage ? `: ${this.serverMessage}` : ""
      }`
  }
}

/**
 * 401: the app keys or the bearer token were refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnauthorizedError extends Schema.TaggedError<UnauthorizedError>()("UnauthorizedError", ApiErrorFields) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return describe(this, "Voucherify refused the credentials")
  }
}

/**
 * 403: the credentials are valid but may not do this (a missing OAuth scope,
 * or a project bound to another region: check the cluster).
 *
 * @since 0.1.0
 * @category errors
 */
export class ForbiddenError extends Schema.TaggedError<ForbiddenError>()("ForbiddenError", ApiErrorFields) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return describe(this, "Voucherify forbade the request")
  }
}

/**
 * 404: for example an async action id that does not exist in this project.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFoundError extends Schema.TaggedError<NotFoundError>()("NotFoundError", ApiErrorFields) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return describe(this, "Voucherify found no such resource")
  }
}

/**
 * 429: a rate limit was hit and retrying was not worth it (the quota lasts
 * until the billing cycle ends, the wait is longer than configured, or the
 * retries ran out). `retryAfter` is the wait the server asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimitError extends Schema.TaggedError<RateLimitError>()("RateLimitError", {
  ...ApiErrorFields,
  retryAfter: Schema.optional(Schema.Duration),
  limitType: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number)
}) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const wait = this.retryAfter ? `; retry after ${Duration.format(this.retryAfter)}` : ""
    const type = this.limitType ? ` (${this.limitType})` : ""
    return `${describe(this, `Voucherify rate limit reached${type}`)}${wait}`
  }
}

/**
 * Any other 4xx: the request was understood and refused (for example a body
 * that breaks the schema: `key: "invalid_payload"`).
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequestError extends Schema.TaggedError<BadRequestError>()("BadRequestError", ApiErrorFields) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return describe(this, "Voucherify rejected the request")
  }
}

/**
 * A 5xx that was still failing after the configured retries.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", ApiErrorFields) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return describe(this, "Voucherify failed to process the request")
  }
}

/**
 * The request did not get a usable answer: no connection could be made
 * (`Connect`: refused, an unknown host, unreachable; nothing was sent), a
 * network failure, a per-attempt timeout (after the retries), or a
 * redirect, which is never followed so that no credential travels to
 * another host. After `Transport` or `Timeout` the request may or may not
 * have reached Voucherify.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: Schema.Literal("Connect", "Transport", "Timeout", "Redirect"),
  description: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    switch (this.reason) {
      case "Connect":
        return `Could not connect to Voucherify (nothing was sent): ${this.description}`
      case "Timeout":
        return `No answer from Voucherify in time: ${this.description}`
      case "Redirect":
        return `Voucherify answered with a redirect (HTTP ${this.status}), which is never followed: ${this.description}`
      default:
        return `Could not reach Voucherify: ${this.description}`
    }
  }
}

/**
 * A successful status whose body is not what the endpoint documents (not
 * JSON, JSON of another shape, or larger than the configured
 * `maxResponseBytes`: then `limit` is that size, and the rest of the body
 * was not read).
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseDecodeError extends Schema.TaggedError<ResponseDecodeError>()("ResponseDecodeError", {
  status: Schema.Number,
  description: Schema.String,
  /** @since 0.2.0 */
  limit: Schema.optional(Schema.Number)
}) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `Could not decode Voucherify's answer (HTTP ${this.status}): ${this.description}`
  }
}

/**
 * The request was refused locally before anything was sent: an empty or
 * non-string id, metadata that is not a JSON object, and so on. `path` names
 * the offending field (`source_ids[3]`, `metadata.price`); `offset` is the
 * position of the id in a bulk input.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequestError extends Schema.TaggedError<InvalidRequestError>()("InvalidRequestError", {
  path: Schema.String,
  reason: Schema.String,
  offset: Schema.optional(Schema.Number)
}) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `Invalid request, ${this.path}: ${this.reason}`
  }
}

/**
 * The async action ended with status `FAILED`; the action is attached.
 *
 * @since 0.1.0
 * @category errors
 */
export class AsyncActionFailedError extends Schema.TaggedError<AsyncActionFailedError>()("AsyncActionFailedError", {
  action: AsyncAction
}) {
  override get message(): string {
    const errors = this.action.result?.errors ?? []
    const first = errors[0]?.message
    return `Async action ${this.action.id} (${this.action.type}) FAILED${
      first ? `: ${first}${errors.length > 1 ? ` and ${errors.length - 1} more` : ""}` : ""
    }`
  }
}

/**
 * Polling gave up before the async action ended. The action itself goes on
 * and may still complete: look it up again later with its id.
 *
 * @since 0.1.0
 * @category errors
 */
export class AsyncActionTimeoutError extends Schema.TaggedError<AsyncActionTimeoutError>()("AsyncActionTimeoutError", {
  id: Schema.String,
  waited: Schema.Duration,
  lastStatus: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `Stopped waiting for async action ${this.id} after ${Duration.format(this.waited)}${
      this.lastStatus ? ` (last status ${this.lastStatus})` : ""
    }; the action may still complete`
  }
}

/**
 * A report file of an async action (`result.reports`) cannot be read as one:
 * its header lacks the `found` or `updated` column or an id column
 * (`source_id`, `code` or `id`), or a record is malformed. `header` is the
 * header row as the file has it; `line` (of the file, from 1) and `record`
 * (from 1, the header not counted) locate a bad record, `column` a bad cell.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReportDecodeError extends Schema.TaggedError<ReportDecodeError>()("ReportDecodeError", {
  reason: Schema.String,
  header: Schema.optional(Schema.Array(Schema.String)),
  line: Schema.optional(Schema.Number),
  record: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const at = this.line === undefined
      ? ""
      : `, line ${this.line}${this.record === undefined ? "" : ` (record ${this.record})`}`
    const column = this.column === undefined ? "" : `, column "${this.column}"`
    const header = this.header === undefined || this.line !== undefined
      ? ""
      : ` (header: ${this.header.length === 0 ? "none" : JSON.stringify(this.header)})`
    return `Could not read the report file${at}${column}: ${this.reason}${header}`
  }
}

/**
 * A report file is no longer there: past its action's
 * `reports_available_till`, or the download answered 404 or 410. `url` is
 * the report's URL without its query (the query holds a token).
 *
 * @since 0.2.0
 * @category errors
 */
export class ReportExpiredError extends Schema.TaggedError<ReportExpiredError>()("ReportExpiredError", {
  url: Schema.String,
  availableTill: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `The report ${this.url} is no longer available${
      this.status !== undefined ? ` (HTTP ${this.status})` : ""
    }${this.availableTill !== undefined ? `: it was available until ${this.availableTill}` : ""}`
  }
}

export {
  /**
   * A URL that would get the credentials but is not on a host that may:
   * not https (plain http only on loopback), with a user name, or on a host
   * other than the configured API's origin and its cluster's download host.
   * Nothing is requested. `url` has no query.
   *
   * @since 0.2.0
   * @category errors
   */
  UntrustedUrlError
} from "./internal/http/credentialHosts.js"

/**
 * Why reading a report file can fail.
 *
 * @since 0.2.0
 * @category models
 */
export type ReportError = VoucherifyError | ReportDecodeError | ReportExpiredError | UntrustedUrlError

/** The members of the {@link VoucherifyError} union, written once. */
const members = [
  PayloadTooLargeError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  RateLimitError,
  BadRequestError,
  ServerError,
  TransportError,
  ResponseDecodeError,
  InvalidRequestError
] as const

/**
 * Every error a Voucherify call can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type VoucherifyError = InstanceType<typeof members[number]>

/**
 * The schema of {@link VoucherifyError}, to encode errors into reports and
 * decode them back.
 *
 * @since 0.1.0
 * @category schemas
 */
export const VoucherifyError: Schema.Union<typeof members> = Schema.Union(...members)

/**
 * Tells whether a value is one of the {@link VoucherifyError}s.
 *
 * @since 0.1.0
 * @category guards
 */
export const isVoucherifyError = (u: unknown): u is VoucherifyError => Predicate.hasProperty(u, TypeId)
