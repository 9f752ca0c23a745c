/**
 * The secrets in use (the app token, an OAuth token, a bearer token, a
 * report URL's token) kept out of whatever a server sends back: an answer is
 * scrubbed before it is decoded, so that no value the library returns,
 * prints or encodes carries one, whatever the server put where.
 *
 * @internal
 */
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"

/** What a secret is replaced with. */
export const redactedText = "<redacted>"

/** Shorter values would match by chance (and an empty one everywhere). */
const minimumLength = 4

/**
 * Secrets of the request being made, beside the client's own: a report
 * file's token, which its download host might echo into an error body.
 */
export const requestSecrets: FiberRef.FiberRef<ReadonlyArray<string>> = FiberRef.unsafeMake<ReadonlyArray<string>>([])

const usable = (secrets: ReadonlyArray<string>) => secrets.filter((secret) => secret.length >= minimumLength)

/** `text` with every occurrence of each secret replaced by {@link redactedText}. */
export const scrubText = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(redactedText)
  return out
}

/** The values of secrets held as `Redacted`. */
export const values = (secrets: ReadonlyArray<Redacted.Redacted<string>>): ReadonlyArray<string> => secrets.map(Redacted.value)

/** A text scrubber over the secrets as they are when it is called. */
export const scrubber = (secrets: () => ReadonlyArray<string>) => (text: string): string =>
  scrubText(text, usable(secrets()))

const setKey = (target: Record<string, unknown>, key: string, value: unknown) => {
  // `__proto__` from JSON.parse is an own key, not the prototype
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/**
 * A copy of parsed JSON with every string (keys included) scrubbed. `keep`
 * names paths whose strings are scrubbed with `outer` only (a report URL
 * keeps its own token, which the reader needs).
 */
const scrubTree = (
  value: unknown,
  secrets: ReadonlyArray<string>,
  outer: ReadonlyArray<string>,
  keep: (path: ReadonlyArray<string>) => boolean,
  path: Array<string>
): unknown => {
  if (typeof value === "string") return scrubText(value, keep(path) ? outer : secrets)
  if (Array.isArray(value)) {
    return value.map((item, index) => {
      path.push(String(index))
      const out = scrubTree(item, secrets, outer, keep, path)
      path.pop()
      return out
    })
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      path.push(key)
      setKey(out, scrubText(key, secrets), scrubTree(item, secrets, outer, keep, path))
      path.pop()
    }
    return out
  }
  return value
}

const never = () => false

/** Parsed JSON with every string scrubbed of `secrets`. */
export const scrubJson = (value: unknown, secrets: ReadonlyArray<string>): unknown =>
  scrubTree(value, usable(secrets), [], never, [])

const isReportPath = (path: ReadonlyArray<string>) => path.length === 3 && path[0] === "result" && path[1] === "reports"

/**
 * The tokens a report URL carries: its query's values (and the whole query),
 * which hold the `?token=`.
 */
export const urlTokens = (url: string): ReadonlyArray<string> => {
  if (!URL.canParse(url)) return []
  const { search } = new URL(url)
  if (search.length <= 1) return []
  return [...new URLSearchParams(search).values(), search.slice(1)]
}

/**
 * An async action's JSON, scrubbed: of `secrets` everywhere, and of the
 * tokens of its own report URLs everywhere but in those URLs.
 */
export const scrubAsyncActionJson = (value: unknown, secrets: ReadonlyArray<string>): unknown => {
  const reports = (value as { readonly result?: { readonly reports?: unknown } } | null)?.result?.reports
  const tokens = Array.isArray(reports) ? reports.flatMap((url) => typeof url === "string" ? urlTokens(url) : []) : []
  const outer = usable(secrets)
  // the longest first: a whole query is gone before its values are looked for
  const all = usable([...secrets, ...tokens]).sort((a, b) => b.length - a.length)
  return scrubTree(value, all, outer, isReportPath, [])
}
