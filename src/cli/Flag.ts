/**
 * What `--help` says of each option, kept with the option itself: its value,
 * its type in words, its default and its environment variable. The options
 * still parse with `@effect/cli`; the help is printed by `Help.ts`.
 */
import * as Options from "@effect/cli/Options"
import type * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { isDelimiter } from "../internal/csv/rows.js"

export interface FlagDoc {
  /** `--ids` */
  readonly flag: string
  /** The value's placeholder, `path|-`; none for a switch. */
  readonly value?: string | undefined
  /** The value's type in words: `integer, at least 1`, `JSON object`, `file path`. */
  readonly type?: string | undefined
  readonly default?: string | undefined
  /** The environment variable read when the option is not given. */
  readonly env?: string | undefined
  readonly required?: boolean | undefined
  readonly description: string
}

const registry = new WeakMap<object, ReadonlyArray<FlagDoc>>()

/**
 * Attaches the help of `options` (one entry per flag it parses: two for an
 * either-or such as `--column`/`--field`).
 */
export const document = <A>(options: Options.Options<A>, ...docs: ReadonlyArray<FlagDoc>): Options.Options<A> => {
  // shell completions describe the flag with @effect/cli's own description
  const described = docs.length === 1 ? Options.withDescription(options, docs[0]!.description) : options
  registry.set(described, docs)
  return described
}

/** The help of every option of a command's record of options, in their order. */
export const docsOf = (options: Readonly<Record<string, unknown>>): ReadonlyArray<FlagDoc> =>
  Object.values(options).flatMap((option) => (typeof option === "object" && option !== null ? registry.get(option) ?? [] : []))

/** Whether every option of the record has its help: a test checks each command. */
export const undocumented = (options: Readonly<Record<string, unknown>>): ReadonlyArray<string> =>
  Object.entries(options).filter(([, option]) => typeof option !== "object" || option === null || !registry.has(option))
    .map(([key]) => key)

/** A switch: no value, off unless given. */
export const flag = (name: string, description: string): Options.Options<boolean> =>
  document(Options.boolean(name), { flag: `--${name}`, description })

/**
 * `--<name>`'s text as a whole number of at least `min` (0 or 1). Text
 * decoded by a schema rather than `Options.integer`, whose own message for
 * "abc" (`'abc' is not a integer`) cannot name the option.
 */
export const integer = (name: string, min: 0 | 1): Options.Options<number> =>
  Options.text(name).pipe(Options.withSchema(
    Schema.compose(Schema.String.pipe(Schema.pattern(/^\d+$/)), Schema.NumberFromString).pipe(
      Schema.int(),
      Schema.greaterThanOrEqualTo(min),
      Schema.annotations({
        message: (issue) => ({
          message: `--${name} must be ${min === 1 ? "a positive integer" : "a whole number"}, got ${JSON.stringify(issue.actual)}`,
          override: true
        })
      })
    )
  ))

/** `--delimiter ;`: one ASCII character (`tab` or `\\t` for a tab), not a quote or a line break. */
const Delimiter = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (text, _, ast) => {
    const delimiter = text === "tab" || text === "\\t" ? "\t" : text
    return isDelimiter(delimiter)
      ? ParseResult.succeed(delimiter)
      : ParseResult.fail(new ParseResult.Type(ast, text))
  },
  encode: (delimiter) => ParseResult.succeed(delimiter === "\t" ? "tab" : delimiter)
}).annotations({
  message: (issue) => ({
    message: `--delimiter must be one character such as ";" or "|", or tab, got ${JSON.stringify(issue.actual)}`,
    override: true
  })
})

/** `--delimiter`: what separates the fields of a CSV input. */
export const delimiter: Options.Options<Option.Option<string>> = Options.text("delimiter").pipe(
  Options.withSchema(Delimiter),
  Options.optional
)

/** The help of {@link delimiter}. */
export const delimiterDoc = (description: string): FlagDoc => ({
  flag: "--delimiter",
  value: "char",
  type: "one character; tab for a tab",
  default: ",",
  description
})
