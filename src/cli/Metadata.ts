/**
 * The metadata to set, from `--metadata '<json>'` or `--metadata-file <path>`.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputError } from "./CliError.js"

export type Metadata = Readonly<Record<string, unknown>>

const describe = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`)

/** Parses `text` as a JSON object; `source` names it in the error. */
export const parseMetadata = (text: string, source: string): Effect.Effect<Metadata, InputError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) => new InputError({ message: `${source} is not valid JSON: ${(error as Error).message}` })
  }).pipe(
    Effect.filterOrFail(
      (value): value is Metadata => typeof value === "object" && value !== null && !Array.isArray(value),
      (value) => new InputError({ message: `${source} must be a JSON object like {"key":"value"}, got ${describe(value)}` })
    )
  )

/** Exactly one of the two options must be given. */
export const readMetadata = (options: {
  readonly metadata: Option.Option<string>
  readonly metadataFile: Option.Option<string>
}): Effect.Effect<Metadata, InputError, FileSystem.FileSystem> => {
  if (Option.isSome(options.metadata) && Option.isSome(options.metadataFile)) {
    return Effect.fail(new InputError({ message: "give either --metadata or --metadata-file, not both" }))
  }
  if (Option.isSome(options.metadata)) return parseMetadata(options.metadata.value, "--metadata")
  if (Option.isNone(options.metadataFile)) {
    return Effect.fail(new InputError({ message: "the metadata is required: give --metadata '<json object>' or --metadata-file <path>" }))
  }
  const path = options.metadataFile.value
  return Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.mapError((error) => new InputError({ message: `cannot read the metadata file: ${error.message}` })),
    Effect.flatMap((text) => parseMetadata(text, path))
  )
}
