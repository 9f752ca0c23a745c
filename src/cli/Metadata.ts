/**
 * The metadata to set, from `--metadata '<json>'` or `--metadata-file <path>`:
 * both decode their text with one `Schema`, so that anything but a JSON
 * object, or a value that would not be sent as written (a number JavaScript
 * cannot hold exactly, a `"__proto__"` key), is refused while the command
 * line is parsed, naming the option and the key.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { firstInexact } from "../internal/bulk/metadataText.js"
import { InputError } from "./CliError.js"
import { fileProblem } from "./ErrorOutput.js"
import { document } from "./Flag.js"

/** What Voucherify accepts as metadata: a JSON object. */
const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export type Metadata = typeof JsonObject.Type

const describe = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`)

/**
 * The text of `option` (`--metadata`, `--metadata-file m.json`) as a JSON
 * object, sent exactly as written: each failure in one line naming the option.
 */
export const FromText = (option: string) =>
  Schema.transformOrFail(Schema.String, JsonObject, {
    strict: true,
    decode: (text, _, ast) => {
      const refuse = (message: string) => ParseResult.fail(new ParseResult.Type(ast, text, message))
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (error) {
        return refuse(`${option} is not valid JSON: ${(error as Error).message}`)
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return refuse(`${option} must be a JSON object like {"key":"value"}, got ${describe(value)}`)
      }
      const inexact = firstInexact(text)
      return inexact === undefined
        ? ParseResult.succeed(value as Metadata)
        : refuse(`${option}: ${inexact.path}: ${inexact.reason}`)
    },
    encode: (metadata) => ParseResult.succeed(JSON.stringify(metadata))
  }).annotations({
    // the one line of the refusal, not the schema's tree
    message: (issue) => ({
      override: true,
      message: issue._tag === "Transformation" && issue.issue._tag === "Type" && typeof issue.issue.message === "string"
        ? issue.issue.message
        : `${option} must be text`
    })
  })

const refused = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** Decodes `text` as `Options.withSchema` does: a refusal is the command line's, in one line. */
const decodeOption = (option: string, text: string) =>
  Effect.mapError(
    ParseResult.decode(FromText(option))(text),
    (issue) => refused(ParseResult.TreeFormatter.formatIssueSync(issue))
  )

/**
 * `--metadata-file`: the file's text (not a parse of it: its numbers are
 * checked as written), each failure in one line naming the option and the file.
 */
const readFile = (path: string): Effect.Effect<Metadata, ValidationError.ValidationError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((error) => refused(`cannot read --metadata-file ${path}: ${fileProblem(error)}`))
    )
    return yield* decodeOption(`--metadata-file ${path}`, text)
  })

export const options = {
  metadata: document(
    Options.text("metadata").pipe(Options.mapEffect((text) => decodeOption("--metadata", text)), Options.optional),
    {
      flag: "--metadata",
      value: "json",
      type: "JSON object",
      description: "The metadata to set, such as '{\"season\":\"summer\"}'; this or --metadata-file"
    }
  ),
  metadataFile: document(Options.text("metadata-file").pipe(Options.mapEffect(readFile), Options.optional), {
    flag: "--metadata-file",
    value: "path",
    type: "existing JSON file",
    description: "Read the metadata, a JSON object, from a file"
  })
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
      new InputError({
        message: "no metadata given",
        hint: "give --metadata '<json object>' or --metadata-file <path>"
      })
    )
  )
}
