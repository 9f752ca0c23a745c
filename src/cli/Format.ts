/**
 * Number, size and duration formats shared by every printed line.
 */

/**
 * `1,234,567`, `-1,234.5`. Written by hand: the first `toLocaleString` of
 * a process loads ICU's number formats, about 50 ms of every run's exit.
 */
export const count = (n: number): string => {
  if (!Number.isFinite(n)) return String(n)
  // toLocaleString's three fraction digits at most
  const [whole, fraction] = String(Math.round(Math.abs(n) * 1000) / 1000).split(".") as [string, string | undefined]
  return `${n < 0 ? "-" : ""}${whole.replace(/\B(?=(\d{3})+$)/g, ",")}${fraction === undefined ? "" : `.${fraction}`}`
}

/** `chunk` for 1, `chunks` otherwise (`ids` → `id`): the word that goes with `n`. */
export const noun = (n: number, singular: string, plural = `${singular}s`): string => (n === 1 ? singular : plural)

/** `1 chunk`, `1,024 chunks`: the count and its word. */
export const counted = (n: number, singular: string, plural?: string): string => `${count(n)} ${noun(n, singular, plural)}`

/** `12.3 MB`: decimal megabytes, as the 10 MB limit is usually quoted. */
export const megabytes = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`

/** `42s`, `3m05s` */
export const duration = (ms: number): string => {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
}

/** `99.87%` of a limit */
export const fill = (bytes: number, limit: number): string => `${((bytes / limit) * 100).toFixed(2)}%`

/** What a run's input holds, in the words of the summary and the bar: ids, or whole records. */
export type Item = "id" | "record"
