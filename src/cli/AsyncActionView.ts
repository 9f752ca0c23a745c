/**
 * An async action as the terminal shows it: aligned `label value` lines, or
 * the JSON the API sent with `--json`.
 */
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { displayUrl } from "../internal/http/credentialHosts.js"
import { AsyncAction } from "../VoucherifySchema.js"

const encode = Schema.encodeSync(AsyncAction)

/** A report URL's query holds its token, a secret: the terminal gets the URL without it. */
const withoutTokens = (reports: ReadonlyArray<Redacted.Redacted<string>> | undefined) =>
  reports?.map((url) => displayUrl(Redacted.value(url)))

export const toJson = (action: AsyncAction): string => {
  const encoded = encode(action)
  const reports = withoutTokens(action.result?.reports)
  return JSON.stringify(
    reports === undefined ? encoded : { ...encoded, result: { ...encoded.result, reports } },
    null,
    2
  )
}

export const toText = (action: AsyncAction): string => {
  const result = action.result
  const errors = result?.errors ?? []
  const rows: Array<readonly [string, string | number | undefined]> = [
    ["id", action.id],
    ["type", action.type],
    ["status", action.operation_status ? `${action.status} (${action.operation_status})` : action.status],
    ["progress", action.progress === undefined ? undefined : `${action.progress}%`],
    // "created" and "updated" alone are counts of records in the bulk summary: these are times
    ["created at", action.created_at],
    ["updated at", action.updated_at],
    ["processing", action.processing_time === undefined ? undefined : `${action.processing_time} ms`],
    ["request id", action.request_id],
    ["done", result?.done_count],
    ["failed", result?.failed_count],
    ["errors", errors.length === 0 ? undefined : `${errors.length}, first: ${errors[0]?.message ?? errors[0]?.key ?? "?"}`],
    ["reports", withoutTokens(result?.reports)?.join(" ")],
    ["reports until", result?.reports_available_till]
  ]
  return rows
    .filter((row): row is readonly [string, string | number] => row[1] !== undefined)
    .map(([label, value]) => `${label.padEnd(14)}${value}`)
    .join("\n")
}
