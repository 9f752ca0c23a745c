/**
 * The metadata to set, from `--metadata '<json>'` or `--metadata-file <path>`:
 * each option decodes its JSON with one `Schema`, so that anything but a JSON
 * object is refused while the command line is parsed, naming the option.
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InputError } from "./CliError.js"

/** What Voucherify accepts as metadata: a JSON object. */
const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export type Metadata = typeof JsonObject.Type

const describe = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`)

const notAnObject = (option: string, value: unknown) =>
  `${option} must be a JSON object like {"key":"value"}, got ${describe(value)}`

/** `--metadata`'s text: JSON, then a JSON object; either failure in one line naming the option. */
const FromText = Schema.parseJson(JsonObject).annotations({
  message: (issue) => ({
    override: true,
    message: issue._tag !== "Transformation"
      ? "--metadata must be text"
      : issue.kind === "Type"
      ? notAnObject("--metadata", issue.issue.actual)
      // the parser's own words, from under this annotation (formatting `issue` itself would come back here)
      : `--metadata is not valid JSON: ${ParseResult.ArrayFormatter.formatIssueSync(issue.issue)[0]?.message}`
  })
})

/** `--metadata-file`'s content, already parsed as JSON by `Options.fileSchema`. */
const FromFile = JsonObject.annotations({ message: (issue) => notAnObject("--metadata-file", issue.actual) })

export const options = {
  metadata: Options.text("metadata").pipe(
    Options.withPseudoName("json"),
    Options.withDescription("The metadata, a JSON object: '{\"key\":\"value\"}'"),
    Options.withSchema(FromText),
    Options.optional
  ),
  metadataFile: Options.fileSchema("metadata-file", FromFile, "json").pipe(
    Options.withPseudoName("path"),
    Options.withDescription("Read the metadata JSON object from a file"),
    Options.optional
  )
}

/** Exactly one of the two options must be given. */
export const select = (flags: {
  readonly metadata: Option.Option<Metadata>
  readonly metadataFile: Option.Option<Metadata>
}): Effect.Effect<Metadata, InputError> => {
  if (Option.isSome(flags.metadata) && Option.isSome(flags.metadataFile)) {
    return Effect.fail(new InputError({ message: "give either --metadata or --metadata-file, not both" }))
  }
  return Option.orElse(flags.metadata, () => flags.metadataFile).pipe(
    Effect.mapError(() =>
      new InputError({ message: "the metadata is required: give --metadata '<json object>' or --metadata-file <path>" })
    )
  )
}
