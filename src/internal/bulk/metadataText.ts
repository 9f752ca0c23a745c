/**
 * Metadata given as JSON text (the CLI's `--metadata` and `--metadata-file`,
 * and any text input of records to come): parsed so that what is sent is
 * what was written, or refused naming the key.
 *
 * `JSON.parse` turns every number into a double: `9007199254740993` becomes
 * `9007199254740992`, `12345678901234567890` becomes `12345678901234567000`,
 * and the changed value would be written onto every record. A number is kept
 * when the decimal it denotes is the one the double is sent as
 * (`JSON.stringify` writes the shortest decimal that reads back as the
 * double): `1.0`, `1e2` and `0.1` are exact; `9007199254740993`, `1e400` and
 * `0.10000000000000001` are not. Refusing is the honest choice: a string
 * keeps any digits.
 *
 * A `"__proto__"` key is refused too: JavaScript code that copies keys into
 * a new object (this tool's option parsing included) sets the prototype
 * with it instead of a key, and the value is then silently not sent.
 *
 * Metadata handed to the library is a JavaScript value already, its numbers
 * parsed: the exactness of the text it came from is its producer's to keep.
 *
 * @internal
 */

/** Where a value of the text sits (`metadata.erp_id`, `metadata.list[2]`), and why it cannot be sent as written. */
export interface Inexact {
  readonly path: string
  readonly reason: string
}

const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const decimalParts = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/**
 * The decimal a number's text denotes, normalised (`-0.123e4` for `-1230`,
 * `0` for any zero), so that two spellings of one value compare equal.
 */
const normalised = (text: string): string => {
  const parts = decimalParts.exec(text)
  // "Infinity", "NaN": what no JSON number denotes
  if (parts === null) return text
  const [, sign, whole, fraction = "", exponent = "0"] = parts
  let digits = whole! + fraction
  let exp = Number(exponent) + whole!.length
  let lead = 0
  while (lead < digits.length && digits[lead] === "0") lead++
  digits = digits.slice(lead)
  exp -= lead
  let end = digits.length
  while (end > 0 && digits[end - 1] === "0") end--
  digits = digits.slice(0, end)
  return digits.length === 0 ? "0" : `${sign}0.${digits}e${exp}`
}

/** Whether the JSON number `token` is sent as the value written: its double's shortest decimal denotes the same number. */
export const isExactNumber = (token: string): boolean => normalised(token) === normalised(String(Number(token)))

/**
 * The first value of the JSON text `text` that cannot be sent as written: a
 * number that is not {@link isExactNumber}, or a `"__proto__"` key. `text`
 * must be valid JSON (parse it first); `root` names its top value in paths.
 * One pass over the text, holding only the path to the current value.
 */
export const firstInexact = (text: string, root = "metadata"): Inexact | undefined => {
  // the open containers, innermost last: their paths, and for arrays the index of the current element
  const paths: Array<string> = []
  const indexes: Array<number> = []
  const isArray: Array<boolean> = []
  let key = ""
  let expectKey = false
  const valuePath = (): string => {
    const top = paths.length - 1
    if (top < 0) return root
    return isArray[top] ? `${paths[top]}[${indexes[top]}]` : `${paths[top]}.${key}`
  }
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    switch (c) {
      case "{":
      case "[":
        paths.push(valuePath())
        indexes.push(0)
        isArray.push(c === "[")
        expectKey = c === "{"
        i++
        break
      case "}":
      case "]":
        paths.pop()
        indexes.pop()
        isArray.pop()
        expectKey = false
        i++
        break
      case ",":
        if (isArray[isArray.length - 1]) indexes[indexes.length - 1]!++
        else expectKey = true
        i++
        break
      case ":":
        expectKey = false
        i++
        break
      case "\"": {
        let end = i + 1
        while (text[end] !== "\"") end += text[end] === "\\" ? 2 : 1
        if (expectKey) {
          key = JSON.parse(text.slice(i, end + 1)) as string
          if (key === "__proto__") {
            return {
              path: valuePath(),
              reason: `a key named "__proto__" cannot be sent: JavaScript takes it for the object's prototype; rename the key`
            }
          }
        }
        i = end + 1
        break
      }
      default:
        if (c === "-" || (c >= "0" && c <= "9")) {
          number.lastIndex = i
          const token = number.exec(text)![0]
          if (!isExactNumber(token)) {
            return { path: valuePath(), reason: `${token} cannot be sent exactly; quote it as a string` }
          }
          i += token.length
        } else {
          // whitespace, or a letter of true, false, null
          i++
        }
    }
  }
  return undefined
}
