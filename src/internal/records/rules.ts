/**
 * The value rules of a per-record update that a type alone does not say: an
 * id that names a record, a date, metadata that JSON carries unchanged (a
 * number that JSON text carries exactly is `exactNumber.ts`'s rule). The
 * record schemas (`VoucherifySchema.BulkRecord`) refine their fields with these. Plain code: they run
 * once per record.
 *
 * @internal
 */
import { controlReason } from "../bulk/idLines.js"
import { describeValue, isPlainObject, jsonValueIssue } from "../jsonValue.js"

/**
 * Why a record's id (`source_id`, `code`) is refused, or undefined. Products
 * and customers are upserted: an id with a stray space or a control
 * character would silently create a record nobody can find.
 */
export const recordIdReason = (id: string): string | undefined => {
  if (id.length === 0) return "must not be empty"
  // the one rule every input of ids follows (`idLines.ts`)
  const control = controlReason(id, "the id")
  if (control !== undefined) return control
  if (/^\s|\s$/.test(id)) return `must not begin or end with whitespace, got ${JSON.stringify(id)}`
  return undefined
}

const dateShape = /^(\d{4})-(\d{2})-(\d{2})$/

/** Why a `YYYY-MM-DD` date (a customer's `birthdate`) is refused, or undefined. */
export const isoDateReason = (text: string): string | undefined => {
  const match = dateShape.exec(text)
  if (match === null) return `must be a date as YYYY-MM-DD, got ${JSON.stringify(text)}`
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  // Date.UTC rolls an impossible day over into the next month: compare it back
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    ? undefined
    : `${text} is not a day of the calendar`
}

/**
 * Why a record's `metadata` is refused, or undefined: it must be a plain
 * object whose values JSON carries unchanged (no `undefined`, `NaN`, `Date`
 * of no time, class instance or cycle), as the metadata endpoints require.
 */
export const jsonObjectReason = (value: unknown): string | undefined => {
  if (!isPlainObject(value)) return `must be a JSON object, got ${describeValue(value)}`
  const issue = jsonValueIssue(value, "")
  return issue === undefined ? undefined : `${issue.path.replace(/^\./, "")}: ${issue.reason}`
}

