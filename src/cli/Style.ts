/**
 * Colour, and the width of the terminal: colour only on a terminal and
 * never with `NO_COLOR` set (https://no-color.org), for help and errors alike.
 */

/** What the style of a stream depends on: whether it is a terminal, and the environment. */
export interface Target {
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * Whether `stream` gets colour: a terminal, and `NO_COLOR` unset or empty
 * (the convention: "when present and not an empty string").
 */
export const colorFor = (stream: Target, env: Readonly<Record<string, string | undefined>> = process.env): boolean =>
  stream.isTTY === true && (env.NO_COLOR ?? "") === ""

/** The text styles a stream gets: plain text when it gets no colour. */
export interface Styles {
  readonly bold: (text: string) => string
  readonly red: (text: string) => string
  readonly yellow: (text: string) => string
  readonly dim: (text: string) => string
}

const sgr = (open: string, close: string) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`

const plain = (text: string) => text

export const styles = (color: boolean): Styles =>
  color
    ? { bold: sgr("1", "22"), red: sgr("31", "39"), yellow: sgr("33", "39"), dim: sgr("2", "22") }
    : { bold: plain, red: plain, yellow: plain, dim: plain }

/** The styles of `stream` in this process. */
export const stylesFor = (stream: Target): Styles => styles(colorFor(stream))

/** The width to lay text out in: the terminal's, else `COLUMNS` (a pipe, a file), else 80. */
export const widthOf = (stream: Target, columns: string | undefined = process.env.COLUMNS): number => {
  if (stream.isTTY === true && stream.columns !== undefined && stream.columns > 0) return stream.columns
  const given = Number(columns)
  return Number.isInteger(given) && given > 0 ? given : 80
}
