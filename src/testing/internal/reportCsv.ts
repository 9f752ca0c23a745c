/**
 * Report files as the test doubles write them for a finished metadata
 * update: a header `source_id,found,updated` (`code,found,updated` for
 * vouchers), one CRLF-ended record per id, fields quoted per RFC 4180 when
 * they must be.
 *
 * @internal
 */

/** One record of a report: did it exist before, was it changed. */
export interface ReportCsvRow {
  readonly id: string
  readonly found: boolean
  readonly updated: boolean
}

/** The id column: `code` for vouchers, `source_id` for products and customers. */
export type ReportIdColumn = "source_id" | "code"

const needsQuotes = /[",\r\n]/

const field = (value: string) => (needsQuotes.test(value) ? `"${value.replaceAll("\"", "\"\"")}"` : value)

/** The bytes of a report file holding `rows`, in order. */
export const renderReportCsv = (rows: Iterable<ReportCsvRow>, idColumn: ReportIdColumn): Uint8Array => {
  const lines = [`${idColumn},found,updated\r\n`]
  for (const row of rows) lines.push(`${field(row.id)},${row.found},${row.updated}\r\n`)
  return new TextEncoder().encode(lines.join(""))
}
