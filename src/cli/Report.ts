/**
 * `--report <path>`: the `BulkReport` as JSON. The path is checked before
 * anything is sent, and the file is replaced in one rename, so that a run
 * interrupted while writing never leaves half a report.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as BulkMetadata from "../BulkMetadata.js"
import { InputError } from "./CliError.js"

const encode = Schema.encode(BulkMetadata.BulkReportFromJson)

const cannotWrite = (path: string, reason: string) =>
  new InputError({ message: `cannot write the report to ${path}: ${reason}` })

/** Fails early when the report could not be written later. */
export const checkWritable = (path: string): Effect.Effect<void, InputError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = (yield* Path.Path).dirname(path)
    const info = yield* fs.stat(dir)
    if (info.type !== "Directory") return yield* cannotWrite(path, `${dir} is not a directory`)
    yield* fs.access(dir, { writable: true })
  }).pipe(
    Effect.catchTags({
      SystemError: (error) => Effect.fail(cannotWrite(path, error.message)),
      BadArgument: (error) => Effect.fail(cannotWrite(path, error.message))
    })
  )

export const write = (
  path: string,
  report: BulkMetadata.BulkReport
): Effect.Effect<void, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* encode(report)
    const temporary = `${path}.${process.pid}.tmp`
    yield* fs.writeFileString(temporary, `${text}\n`)
    yield* fs.rename(temporary, path)
  }).pipe(
    Effect.mapError((error) => cannotWrite(path, error.message))
  )
