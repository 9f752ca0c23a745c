/**
 * Whether a value survives `JSON.stringify` unchanged. No dependency on the
 * rest of the library: the metadata endpoints (`bulk/payload.ts`) and the
 * record schemas (`VoucherifySchema.BulkRecord`) both use it.
 *
 * @internal
 */

/** Where in a value JSON would lose something, and what. */
export interface JsonValueIssue {
  readonly path: string
  readonly reason: string
}

export const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

export const describeValue = (u: unknown): string => {
  if (u === null) return "null"
  if (Array.isArray(u)) return "an array"
  if (typeof u === "object") {
    const proto: unknown = Object.getPrototypeOf(u)
    // `{ __proto__: {...} }` in an object literal (or a parse that copies keys
    // into a new object) sets the prototype: no key is left to send
    if (proto !== null && Object.getPrototypeOf(proto) === Object.prototype && !Object.hasOwn(proto as object, "constructor")) {
      return `an object whose prototype is another object (a "__proto__" key sets the prototype in JavaScript, it is not sent as a key)`
    }
    return `an instance of ${(u as object).constructor?.name ?? "an unknown class"}`
  }
  if (typeof u === "number") return String(u)
  return `a ${typeof u}`
}

/**
 * Checks that a metadata value survives `JSON.stringify` unchanged: plain
 * objects, arrays, strings, finite numbers, booleans and null, no cycles.
 * Anything JSON would drop or mangle silently (undefined, functions, NaN,
 * Maps) is refused, because silently dropping a customer's data is worse
 * than refusing it.
 */
const check = (value: unknown, path: string, ancestors: Set<object>): JsonValueIssue | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value)
        ? undefined
        : { path, reason: `${value} cannot be encoded as JSON` }
    case "bigint":
      return { path, reason: "a BigInt cannot be encoded as JSON; pass a string or a number" }
    case "object": {
      if (value === null) return undefined
      if (ancestors.has(value)) {
        return { path, reason: "the value refers to itself (a cycle), which JSON cannot encode" }
      }
      if (value instanceof Date) {
        return Number.isNaN(value.getTime())
          ? { path, reason: "an invalid Date cannot be encoded as JSON" }
          : undefined
      }
      ancestors.add(value)
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const error = check(value[i], `${path}[${i}]`, ancestors)
            if (error) return error
          }
          return undefined
        }
        if (!isPlainObject(value)) {
          return { path, reason: `${describeValue(value)} is not a JSON value` }
        }
        for (const key of Object.keys(value)) {
          const error = check(value[key], `${path}.${key}`, ancestors)
          if (error) return error
        }
        return undefined
      } finally {
        ancestors.delete(value)
      }
    }
    default:
      return { path, reason: `${describeValue(value)} cannot be encoded as JSON` }
  }
}

/** The first place in `value` (named from `path`) that JSON would drop or mangle, or undefined. */
export const jsonValueIssue = (value: unknown, path: string): JsonValueIssue | undefined => check(value, path, new Set())
