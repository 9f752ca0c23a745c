/**
 * One rule for every number that arrives as text and is sent as JSON: the
 * CLI's `--metadata` text, NDJSON records, typed CSV cells.
 *
 * A JSON number becomes a double when it is parsed: `9007199254740993`
 * becomes `9007199254740992`, `12345678901234567890` becomes
 * `12345678901234567000`, `1e-400` becomes `0`, and `1e400` becomes
 * `Infinity`, which `JSON.stringify` writes as `null`. The changed value
 * would be written onto a record. A number is kept when the decimal it
 * denotes is the one the double is sent as (`JSON.stringify` writes the
 * shortest decimal that reads back as the double): `1.0`, `1e2`, `12.50` and
 * `0.1` are exact; `9007199254740993` and `0.10000000000000001` are not.
 * Refusing is the honest choice: a string keeps any digits.
 *
 * @internal
 */

const decimalParts = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/**
 * The decimal a number's text denotes, normalised (`-0.123e4` for `-1230`,
 * `0` for any zero), so that two spellings of one value compare equal.
 */
const normalised = (text: string): string => {
  const parts = decimalParts.exec(text)
  // "Infinity", "NaN": what no JSON number denotes
  if (parts === null) return text
  const [, sign, whole = "", fraction = "", exponent = "0"] = parts
  let digits = whole + fraction
  let exp = Number(exponent) + whole.length
  let lead = 0
  while (lead < digits.length && digits[lead] === "0") lead++
  digits = digits.slice(lead)
  exp -= lead
  let end = digits.length
  while (end > 0 && digits[end - 1] === "0") end--
  digits = digits.slice(0, end)
  return digits.length === 0 ? "0" : `${sign === "-" ? "-" : ""}0.${digits}e${exp}`
}

const plainDecimal = /^-?\d+(?:\.\d+)?$/

/**
 * A decimal of at most 15 digits and no exponent (`1999`, `-12.50`,
 * `0.1`): always exact, and the common case. A double holds every decimal
 * of 15 significant digits apart from every other (DBL_DIG), so the
 * shortest decimal that reads back as its double is that decimal; and
 * without an exponent it is far from the ends of the range.
 */
const isShortDecimal = (text: string): boolean => {
  const digits = text.length - (text.charCodeAt(0) === 0x2d ? 1 : 0) - (text.includes(".") ? 1 : 0)
  return digits <= 15 && plainDecimal.test(text)
}

/**
 * Whether the decimal number `text` (JSON's grammar, or a spreadsheet's:
 * a `+`, `.5`, `5.`) is sent as the value written.
 */
export const isExactNumber = (text: string): boolean =>
  isShortDecimal(text) || normalised(text) === normalised(String(Number(text)))

/** Why the decimal number `text` cannot be sent as written, or undefined when it can. */
export const inexactNumberReason = (text: string): string | undefined => {
  if (isExactNumber(text)) return undefined
  const value = Number(text)
  return `${text} cannot be sent exactly (${
    Number.isFinite(value) ? `it would arrive as ${value}` : "too large for a JSON number"
  }); quote it as a string`
}
