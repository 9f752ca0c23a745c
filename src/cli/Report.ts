/**
 * `--report <path>`: the `BulkRun.Report` as JSON. The path is checked before
 * anything is sent, and the file is replaced in one rename, so that a run
 * interrupted while writing never leaves half a report.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as BulkRun from "../BulkRun.js"
import { InputError } from "./CliError.js"
import { fileProblem } from "./ErrorOutput.js"

const encode = Schema.encode(BulkRun.ReportFromJson)

const cannotWrite = (path: string, reason: string) =>
  new InputError({ message: `cannot write the report to ${path}: ${reason}` })

/** Fails early when the report could not be written later. */
export const checkWritable = (path: string): Effect.Effect<void, InputError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    // The file itself: a directory there could not be replaced by the report.
    const existing = yield* Effect.option(fs.stat(path))
    if (existing._tag === "Some" && existing.value.type === "Directory") {
      return yield* cannotWrite(path, "it is a directory")
    }
    const dir = (yield* Path.Path).dirname(path)
    const info = yield* fs.stat(dir)
    if (info.type !== "Directory") return yield* cannotWrite(path, `${dir} is not a directory`)
    yield* fs.access(dir, { writable: true })
  }).pipe(
    Effect.catchTags({
      SystemError: (error) => Effect.fail(cannotWrite(path, fileProblem(error))),
      BadArgument: (error) => Effect.fail(cannotWrite(path, fileProblem(error)))
    })
  )

export const write = (
  path: string,
  report: BulkRun.Report
): Effect.Effect<void, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* encode(report)
    const temporary = `${path}.${process.pid}.tmp`
    yield* Effect.zipRight(fs.writeFileString(temporary, `${text}\n`), fs.rename(temporary, path)).pipe(
      // never leave the temporary file behind
      Effect.tapError(() => Effect.ignore(fs.remove(temporary)))
    )
  }).pipe(
    Effect.mapError((error) => cannotWrite(path, error._tag === "ParseError" ? error.message : fileProblem(error)))
  )
