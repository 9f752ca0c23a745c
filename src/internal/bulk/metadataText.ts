/**
 * Metadata given as JSON text (the CLI's `--metadata` and `--metadata-file`,
 * and any text input of records to come): parsed so that what is sent is
 * what was written, or refused naming the key.
 *
 * `JSON.parse` turns every number into a double, and the changed value
 * would be written onto every record: a number must be sent exactly, by the
 * one rule of `exactNumber.ts`.
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
import { inexactNumberReason } from "../exactNumber.js"

/** Where a value of the text sits (`metadata.erp_id`, `metadata.list[2]`), and why it cannot be sent as written. */
export interface Inexact {
  readonly path: string
  readonly reason: string
}

const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/**
 * The first value of the JSON text `text` that cannot be sent as written: a
 * number that is not sent exactly, or a `"__proto__"` key. `text`
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
          const reason = inexactNumberReason(token)
          if (reason !== undefined) return { path: valuePath(), reason }
          i += token.length
        } else {
          // whitespace, or a letter of true, false, null
          i++
        }
    }
  }
  return undefined
}
