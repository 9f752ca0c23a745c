/**
 * A record's shape, from its schema (`VoucherifySchema.BulkRecord`): which
 * fields it may have, which it must, and a guard per field compiled from the
 * schema's AST. The guards answer exactly what `Schema.is` would, in plain
 * code: a bulk run checks a million records, and the schema's own parser
 * costs several times what `JSON.parse` does. Only a refused record goes
 * through the schema's decoder, for the message that names its first issue.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type { ParseOptions } from "effect/SchemaAST"
import * as AST from "effect/SchemaAST"
import * as Schema from "effect/Schema"
import { BulkRecord, type BulkTarget } from "../../VoucherifySchema.js"
import { bulkTargets } from "../bulkTargets.js"
import { describeValue, isPlainObject } from "../jsonValue.js"

type Guard = (u: unknown) => boolean

const options: ParseOptions = { errors: "first", onExcessProperty: "error" }

const isString: Guard = (u) => typeof u === "string"
const isNumber: Guard = (u) => typeof u === "number"
const isBoolean: Guard = (u) => typeof u === "boolean"
/** What a struct's parser takes as an object. */
const isObject: Guard = (u) => typeof u === "object" && u !== null && !Array.isArray(u)

interface Field {
  readonly guard: Guard
  readonly required: boolean
}

const fieldsOf = (ast: AST.TypeLiteral): Map<string, Field> =>
  new Map(ast.propertySignatures.map((p) => [String(p.name), { guard: compile(p.type), required: !p.isOptional }]))

/** An object with only these fields, each passing its guard, the required ones present. */
const structGuard = (fields: Map<string, Field>): Guard => {
  let required = 0
  for (const field of fields.values()) if (field.required) required++
  return (u) => {
    if (!isObject(u)) return false
    let present = 0
    for (const key in u as object) {
      const field = fields.get(key)
      if (field === undefined || !field.guard((u as Record<string, unknown>)[key])) return false
      if (field.required) present++
    }
    return present === required
  }
}

/**
 * The guard of one schema node. Nodes the records' schemas are made of are
 * compiled; any other is left to `Schema.is`, so that a guard never answers
 * otherwise than the schema.
 */
export const compile = (ast: AST.AST): Guard => {
  switch (ast._tag) {
    case "StringKeyword":
      return isString
    case "NumberKeyword":
      return isNumber
    case "BooleanKeyword":
      return isBoolean
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "Refinement": {
      const from = compile(ast.from)
      return (u) => from(u) && Option.isNone(ast.filter(u, options, ast))
    }
    case "Union": {
      const members = ast.types.map(compile)
      return (u) => members.some((member) => member(u))
    }
    case "TupleType": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) break
      const item = compile(ast.rest[0]!.type)
      return (u) => Array.isArray(u) && u.every(item)
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length > 0) break
      return structGuard(fieldsOf(ast))
    }
    case "Declaration": {
      if (ast.typeParameters.length > 0) break
      const decode = ast.decodeUnknown()
      const fallback = Schema.is(Schema.make(ast))
      return (u) => {
        const result = decode(u, options, ast)
        return Either.isEither(result) ? Either.isRight(result) : fallback(u)
      }
    }
  }
  return Schema.is(Schema.make(ast), options)
}

/** Why a record is refused: the field at fault (a path such as `address.city`), and the reason. */
export interface Refusal {
  readonly field?: string | undefined
  readonly reason: string
}

/** The compiled shape of one target's records. */
export interface Shape {
  readonly idField: "source_id" | "code"
  /** What a record is called in messages: "product". */
  readonly noun: string
  /** The record's refusal, or undefined for a record of this shape. */
  readonly check: (value: unknown) => Refusal | undefined
}

const pathOf = (path: ReadonlyArray<PropertyKey>): string | undefined =>
  path.length === 0
    ? undefined
    : path.reduce<string>((at, key) => typeof key === "number" ? `${at}[${key}]` : at === "" ? String(key) : `${at}.${String(key)}`, "")

const nouns: { readonly [K in BulkTarget]: string } = { products: "product", customers: "customer", vouchers: "voucher" }

const make = (target: BulkTarget): Shape => {
  const schema = BulkRecord[target]
  const ast = schema.ast as AST.TypeLiteral
  const fields = fieldsOf(ast)
  const names = [...fields.keys()]
  const guard = structGuard(fields)
  const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>, options)
  const noun = nouns[target]
  /** The schema's first issue, for a record the guard refused. */
  const explain = (value: unknown): Refusal => {
    for (const key in value as object) {
      if (!fields.has(key)) {
        return {
          field: key,
          reason: `unknown field "${key}" (a ${noun} record has ${names.join(", ")})`
        }
      }
    }
    const decoded = decode(value)
    if (Either.isRight(decoded)) return { reason: "does not match the schema" }
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    const reason = issue?.message ?? "does not match the schema"
    // Effect's "Expected an integer, actual 12.5" reads on after a field name
    return { field: pathOf(issue?.path ?? []), reason: reason.charAt(0).toLowerCase() + reason.slice(1) }
  }
  return {
    idField: bulkTargets[target].records.idField,
    noun,
    check: (value) =>
      !isPlainObject(value)
        ? { reason: `a record must be a JSON object, got ${describeValue(value)}` }
        : guard(value)
        ? undefined
        : explain(value)
  }
}

const shapes = new Map<BulkTarget, Shape>()

/** The shape of `target`'s records, compiled once. */
export const shapeOf = (target: BulkTarget): Shape => {
  let shape = shapes.get(target)
  if (shape === undefined) {
    shape = make(target)
    shapes.set(target, shape)
  }
  return shape
}
