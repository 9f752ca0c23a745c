/**
 * Decoding of the report file a finished `*.METADATA_UPDATE` async action
 * links in `result.reports`. Voucherify documents only its `found` and
 * `updated` columns, so the file is read by its header row: column names in
 * any case, trimmed; the id column is the first of `source_id`, `code`, `id`
 * that exists; other columns are kept. Rows are decoded in plain code, a
 * chunk at a time: a report can hold a million rows.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { ReportDecodeError, ReportExpiredError } from "../../VoucherifyError.js"
import { checkUrl, displayUrl, type UntrustedUrlError } from "../http/credentialHosts.js"
import type { ReportRow } from "../../Voucherify.js"
import { CsvSyntaxError, type Row, rows } from "../csv/rows.js"
import { decode as decodeWith, type Decoder } from "../text/decode.js"

export type { ReportRow } from "../../Voucherify.js"

/** The id columns, in order of preference. */
export const idColumns: ReadonlyArray<string> = ["source_id", "code", "id"]

interface Layout {
  readonly width: number
  readonly id: number
  readonly found: number
  readonly updated: number
  /** Index and name of every other column. */
  readonly others: ReadonlyArray<readonly [number, string]>
}

const layoutOf = (header: Array<string>): Layout | ReportDecodeError => {
  const names = header.map((name) => name.trim().toLowerCase())
  const refuse = (reason: string) => new ReportDecodeError({ reason, header })
  const idName = idColumns.find((name) => names.includes(name))
  const missing = [
    ...(idName === undefined ? ["id column (source_id, code or id)"] : []),
    ...["found", "updated"].filter((name) => !names.includes(name)).map((name) => `"${name}" column`)
  ]
  if (missing.length > 0) {
    const list = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(", ")} or ${missing.at(-1)}`
    return refuse(`the header has no ${list}`)
  }
  for (const name of [idName!, "found", "updated"]) {
    if (names.indexOf(name) !== names.lastIndexOf(name)) return refuse(`the header names "${name}" twice`)
  }
  const id = names.indexOf(idName!)
  const found = names.indexOf("found")
  const updated = names.indexOf("updated")
  const others: Array<readonly [number, string]> = []
  names.forEach((name, index) => {
    if (index !== id && index !== found && index !== updated) others.push([index, name])
  })
  return { width: names.length, id, found, updated, others }
}

const booleanOf = (cell: string): boolean | undefined => {
  switch (cell) {
    case "true":
    case "1":
      return true
    case "false":
    case "0":
      return false
  }
  const word = cell.trim().toLowerCase()
  return word === "true" || word === "1" ? true : word === "false" || word === "0" ? false : undefined
}

const quoted = (cell: string) => JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell)

const noColumns: Readonly<Record<string, string>> = Object.freeze({})

/** The other columns of one row; `__proto__` is a column name like any other. */
const columnsOf = (layout: Layout, fields: Array<string>): Readonly<Record<string, string>> => {
  if (layout.others.length === 0) return noColumns
  const columns: Record<string, string> = {}
  for (const [index, name] of layout.others) {
    if (Object.hasOwn(columns, name)) continue
    if (name === "__proto__") Object.defineProperty(columns, name, { value: fields[index]!, enumerable: true })
    else columns[name] = fields[index]!
  }
  return columns
}

const decoder = (): Decoder<Row, ReportRow, ReportDecodeError> => {
  let header: Array<string> | undefined
  let layout: Layout | undefined
  let record = 0
  const refuse = (line: number, reason: string, column?: number) =>
    new ReportDecodeError({
      reason,
      header: header!,
      line,
      record,
      ...(column === undefined ? {} : { column: header![column]!.trim() })
    })
  const notBoolean = (line: number, fields: Array<string>, column: number) =>
    refuse(line, `${quoted(fields[column]!)} is not true, false, 1 or 0`, column)
  return {
    push: ({ fields, line }, out) => {
      if (layout === undefined) {
        header = fields
        const read = layoutOf(fields)
        if (read instanceof ReportDecodeError) return read
        layout = read
        return undefined
      }
      record++
      if (fields.length !== layout.width) return refuse(line, `${fields.length} fields where the header has ${layout.width}`)
      const id = fields[layout.id]!
      if (id.length === 0) return refuse(line, "the id is empty", layout.id)
      const found = booleanOf(fields[layout.found]!)
      if (found === undefined) return notBoolean(line, fields, layout.found)
      const updated = booleanOf(fields[layout.updated]!)
      if (updated === undefined) return notBoolean(line, fields, layout.updated)
      out.push({ id, found, updated, columns: columnsOf(layout, fields) })
      return undefined
    },
    end: () =>
      header === undefined
        ? new ReportDecodeError({ reason: "the file is empty: it has no header row", header: [] })
        : undefined
  }
}

/**
 * The rows of a report file, read from its bytes as they arrive (the HTTP
 * body stream). A header without the needed columns, or a malformed record,
 * fails with a {@link ReportDecodeError} that says where.
 */
export const decode = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<ReportRow, E | ReportDecodeError, R> =>
  decodeWith(rows(bytes), decoder).pipe(
    Stream.mapError((error) =>
      error instanceof CsvSyntaxError ? new ReportDecodeError({ reason: error.reason, line: error.line }) : error
    )
  )

/**
 * The rules both the service and the in-memory double apply before a
 * report is requested: the URL as it may be shown (no query: its token is a
 * secret), whether it may get the credentials, and whether it is still
 * available (`reports_available_till`).
 */
export const reportAccess = (
  url: string,
  options: { readonly availableTill?: string | undefined } | undefined,
  allowedOrigins: ReadonlyArray<string>
) => {
  const shown = displayUrl(url)
  const expired = (status?: number) =>
    new ReportExpiredError({
      url: shown,
      ...(options?.availableTill !== undefined ? { availableTill: options.availableTill } : {}),
      ...(status !== undefined ? { status } : {})
    })
  /** The URL to request at `now`, or why it is not requested. */
  const check = (now: number): Either.Either<URL, UntrustedUrlError | ReportExpiredError> =>
    Either.flatMap(
      checkUrl(url, allowedOrigins),
      (checked) =>
        options?.availableTill !== undefined && now > Date.parse(options.availableTill)
          ? Either.left(expired())
          : Either.right(checked)
    )
  return { shown, expired, check }
}
