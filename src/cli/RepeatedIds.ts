/**
 * The per-record commands' first look at a records file: an id given twice
 * is refused before anything starts (a mock server, a journal, the first
 * request), with the message the run's own check would print once half the
 * file had gone. It costs one read of the file, and a second one only when
 * two ids hash alike. Standard input, which cannot be read twice, is left to
 * the run's check (docs/records.md).
 */
import * as Effect from "effect/Effect"
import * as BulkRecords from "../BulkRecords.js"
import { bulkTargets } from "../internal/bulkTargets.js"
import { repeatedId } from "../internal/records/check.js"
import { findDuplicate, type IdFormat } from "../internal/records/duplicates.js"
import type { BulkTarget } from "../VoucherifySchema.js"
import type { InputError } from "./CliError.js"
import * as IdInput from "./IdInput.js"

/**
 * Fails when an id of the records file `source` comes twice, naming both
 * lines; else says whether every record's id was looked at and found
 * different (then the run need not keep them). `idColumn` is the CSV column
 * of the ids (undefined for NDJSON); `maxBytes` the body limit, past which a
 * record ends the look (the run refuses it). A failure to read is left to
 * the run, whose report names it.
 */
export const refuse = (
  source: IdInput.ByteSource,
  target: BulkTarget,
  idColumn: string | undefined,
  maxBytes: number,
  delimiter?: string
): Effect.Effect<boolean, InputError> =>
  source.description.kind !== "file" ? Effect.succeed(false) : Effect.gen(function*() {
    const { idField } = bulkTargets[target].records
    const format: IdFormat = idColumn === undefined
      ? { _tag: "Ndjson", field: idField }
      : { _tag: "Csv", column: idColumn, delimiter }
    const look = yield* Effect.tryPromise((signal) =>
      findDuplicate(source.name, format, { maxRecordBytes: maxBytes + 4, signal })
    ).pipe(Effect.orElseSucceed(() => undefined))
    if (look?._tag !== "Repeated") return look?._tag === "Distinct"
    const found = look.duplicate
    return yield* Effect.fail(IdInput.describe(source)<never>(
      new BulkRecords.RecordError({
        offset: found.record,
        line: found.line,
        ...(idColumn === undefined ? {} : { column: idColumn }),
        field: idField,
        reason: repeatedId(found.id, `on line ${found.first}`)
      })
    ))
  })
