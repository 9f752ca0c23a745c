/**
 * Wire shapes only the client reads (and the mock server writes): the
 * acceptance of a bulk call, error bodies in either of their forms, and the
 * OAuth token answer.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { AsyncActionId } from "../../VoucherifySchema.js"

/** The answer of every bulk endpoint: the id of the async action that will do the work. */
export class AsyncActionAccepted extends Schema.Class<AsyncActionAccepted>("AsyncActionAccepted")({
  async_action_id: AsyncActionId
}) {}

/**
 * What an error body tells, whichever of its shapes it came in: the fields
 * every error with a server body carries (with the HTTP status beside
 * them). `code` is whatever the body said (the 429 body even types it as a
 * string); `serverMessage` is the body's `message` (or `error.message`, or
 * the gateway's `error: message`).
 */
export const ErrorBody = Schema.Struct({
  code: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  key: Schema.optional(Schema.String),
  serverMessage: Schema.optional(Schema.String),
  details: Schema.optional(Schema.String),
  request_id: Schema.optional(Schema.String),
  resource_id: Schema.optional(Schema.String),
  resource_type: Schema.optional(Schema.String)
})

export type ErrorBody = typeof ErrorBody.Type

/** Drops the keys whose value is undefined, so that an absent field stays absent. */
const defined = <A extends object>(fields: A): A =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as A

/** The gateway's body (413, some 502/504): `{statusCode, error, message}`. */
const GatewayErrorBody = Schema.transform(
  Schema.Struct({ statusCode: Schema.Number, error: Schema.optional(Schema.String), message: Schema.optional(Schema.String) }),
  ErrorBody,
  {
    strict: true,
    decode: ({ error, message }) => defined({ serverMessage: [error, message].filter(Boolean).join(": ") || undefined }),
    encode: ({ code, serverMessage }) => defined({ statusCode: typeof code === "number" ? code : 0, message: serverMessage })
  }
)

/** Voucherify's usual body: `{code, key, message, details, request_id, resource_id, resource_type, error?: {message}}`. */
const ApiErrorBody = Schema.transform(
  Schema.Struct({
    ...ErrorBody.fields,
    serverMessage: Schema.optional(Schema.Never),
    message: Schema.optional(Schema.String),
    error: Schema.optional(Schema.Struct({ message: Schema.optional(Schema.String) }))
  }),
  ErrorBody,
  {
    strict: true,
    decode: ({ error, message, serverMessage: _, ...fields }) =>
      defined({ ...fields, serverMessage: message ?? error?.message }),
    encode: ({ serverMessage, ...fields }) => defined({ ...fields, message: serverMessage })
  }
)

/**
 * An error body as it comes off the wire, in either shape, decoded to
 * `ErrorBody`.
 */
export const ErrorBodyFromWire = Schema.Union(GatewayErrorBody, ApiErrorBody)

/**
 * The answer of `POST /v1/oauth/token`.
 */
export const OAuthToken = Schema.Struct({
  access_token: Schema.Redacted(Schema.String),
  client_id: Schema.optional(Schema.String),
  expires_at: Schema.Number,
  expires_in: Schema.optional(Schema.Number),
  scope: Schema.optional(Schema.String),
  token_type: Schema.optional(Schema.String)
})
