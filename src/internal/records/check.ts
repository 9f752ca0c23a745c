/**
 * Records are checked once, here, before they are packed: the shape of the
 * target's schema, an id seen once in the run, a size that fits a body. A
 * record that passes leaves as its JSON text, which the packer copies into
 * a body as it is. Plain code: it runs once per record.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import type { BulkTarget } from "../../VoucherifySchema.js"
import { type Shape, shapeOf } from "./shape.js"

/** `BulkRecords.RecordError`. */
export class RecordError extends Schema.TaggedError<RecordError>()("RecordError", {
  /** The record's position in the input, from 0, as a report's offsets count records. */
  offset: Schema.Number,
  /** In a text input (NDJSON, CSV): the line the record starts on, from 1, blank lines and the header included. */
  line: Schema.optional(Schema.Number),
  /** In a CSV input: the column the value came from. */
  column: Schema.optional(Schema.String),
  /** The record's field at fault: `price`, `address.city`, `metadata`. */
  field: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.line === undefined ? `records[${this.offset}]` : `line ${this.line}`
    const column = this.column === undefined ? "" : `, column "${this.column}"`
    const field = this.field === undefined ? "" : `${this.field}: `
    return `${where}${column}: ${field}${this.reason}`
  }
}

/** Why a record whose id came before is refused; `before` says where (`on line 3`, `records[3]`). */
export const repeatedId = (id: string, before: string): string =>
  `${JSON.stringify(id)} is also ${before}: a run takes each record once (bodies in flight together may be applied in either order)`

export const isRecordError = (u: unknown): u is RecordError => u instanceof RecordError

/**
 * Checks the records of one run, in input order. Holds every id taken, with
 * the line (or position) it came from: the same id twice in one run is
 * refused, naming both (two bodies in flight at once can be queued in
 * either order, so which value would win is not known).
 */
export class RecordChecker {
  private readonly shape: Shape
  /** Records seen so far, refused ones included: the offset of the next one. */
  private records = 0
  /** Every id taken, with its line, or its offset when the input has no lines. */
  private readonly seen = new Map<string, number>()

  constructor(
    target: BulkTarget,
    /** The most a record's JSON may take: the room a body leaves beside its brackets. */
    readonly maxBytes: number,
    /**
     * Whether to keep every id to refuse one given twice: `false` once a look
     * at the whole input found every id different (`duplicates.ts`), which
     * spares a map of every id (about 80 MB and a tenth of the time for a
     * million records).
     */
    private readonly checkRepeats = true
  ) {
    this.shape = shapeOf(target)
  }

  /** An error about the next record before it is a value (a line that is not JSON, a CSV cell of the wrong type). */
  refuse(reason: string, line?: number, column?: string): RecordError {
    return new RecordError({
      offset: this.records,
      ...(line !== undefined ? { line } : {}),
      ...(column !== undefined ? { column } : {}),
      reason
    })
  }

  /**
   * The record's JSON text, or why it is refused. `line` is where a text
   * input has it; `idColumn` the CSV column its id came from.
   */
  take(value: unknown, line?: number, idColumn?: string): string | RecordError {
    return this.admit(value, line, idColumn) ?? this.sized(JSON.stringify(value), line)
  }

  /**
   * {@link take} for a record read as JSON text (an NDJSON line): once the
   * value parsed from `text` is checked, `text` itself is sent.
   */
  takeText(value: unknown, text: string, line: number): string | RecordError {
    return this.admit(value, line, undefined) ?? this.sized(text, line)
  }

  /** A record passed over unchecked (a sync state knows its text): it still has its position. */
  pass(): void {
    this.records++
  }

  /** Counts the record and checks its shape and id: undefined when it may go. */
  private admit(value: unknown, line: number | undefined, idColumn: string | undefined): RecordError | undefined {
    const offset = this.records++
    const { idField } = this.shape
    const refused = this.shape.check(value)
    if (refused !== undefined) return this.error(line, idColumn, refused.field, refused.reason)
    if (!this.checkRepeats) return undefined
    const id = (value as Record<string, string>)[idField]!
    const first = this.seen.get(id)
    if (first !== undefined) {
      return this.error(
        line,
        idColumn,
        idField,
        repeatedId(id, line === undefined ? `records[${first}]` : `on line ${first}`)
      )
    }
    this.seen.set(id, line ?? offset)
    return undefined
  }

  /** The record's JSON, if it fits a body. */
  private sized(json: string, line: number | undefined): string | RecordError {
    // a UTF-16 unit takes at most three bytes: most records need no measuring here
    if (json.length * 3 > this.maxBytes) {
      const bytes = Buffer.byteLength(json, "utf8")
      if (bytes > this.maxBytes) {
        return this.error(line, undefined, undefined, `the record takes ${bytes} bytes, more than the ${this.maxBytes} a body leaves for it`)
      }
    }
    return json
  }

  private error(
    line: number | undefined,
    idColumn: string | undefined,
    field: string | undefined,
    reason: string
  ): RecordError {
    const column = field === this.shape.idField ? idColumn : undefined
    return new RecordError({
      offset: this.records - 1,
      ...(line !== undefined ? { line } : {}),
      ...(column !== undefined ? { column } : {}),
      ...(field !== undefined ? { field } : {}),
      reason
    })
  }
}
