/**
 * `products-update`, `customers-update` and `vouchers-update`: each record
 * of a file with its own values, through the per-record bulk endpoints.
 * NDJSON in the API's shape by default; CSV for a `.csv` file or `--csv`.
 * Every option of the metadata commands that applies works the same way:
 * they are the same options, checked by the same code, run by `BulkRun`.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BulkRecords from "../BulkRecords.js"
import { bulkTargets } from "../internal/bulkTargets.js"
import { chunkRecords, recordIdentity, recordItems, runRecords } from "../internal/records/run.js"
import type { BulkTarget } from "../VoucherifySchema.js"
import * as BulkCommand from "./BulkCommand.js"
import { InputError } from "./CliError.js"
import * as Connection from "./Connection.js"
import * as DryRun from "./DryRun.js"
import * as IdInput from "./IdInput.js"
import { delimiter, delimiterDoc, docsOf, document, flag } from "./Flag.js"
import type { CommandDoc } from "./Help.js"
import * as RepeatedIds from "./RepeatedIds.js"

type ColumnTypes = NonNullable<BulkRecords.CsvOptions["types"]>

const ColumnType = Schema.Literal("number", "boolean", "json")
const isColumnType = Schema.is(ColumnType)

/** `--types weight=number,active=boolean`: each column once, each type one of three; the message names the option. */
const Types = Schema.String.pipe(
  Schema.transformOrFail(Schema.Record({ key: Schema.String, value: ColumnType }), {
    strict: true,
    decode: (text, _, ast) => {
      const types: Record<string, ColumnTypes[string]> = {}
      for (const entry of text.split(",")) {
        const [column = "", type = "", ...rest] = entry.split("=").map((part) => part.trim())
        const refuse = (reason: string) => ParseResult.fail(new ParseResult.Type(ast, text, reason))
        if (column.length === 0 || rest.length > 0 || !isColumnType(type)) {
          return refuse(`--types takes column=number|boolean|json pairs separated by commas, got ${JSON.stringify(entry)}`)
        }
        if (column in types) return refuse(`--types gives the column "${column}" twice`)
        types[column] = type
      }
      return ParseResult.succeed(types)
    },
    encode: (types) => ParseResult.succeed(Object.entries(types).map(([column, type]) => `${column}=${type}`).join(","))
  }),
  // one line naming the option, not the schema's tree
  Schema.annotations({
    message: (issue) => ({
      // the decoder's own words, from under this annotation
      message: issue._tag === "Transformation" && issue.issue._tag === "Type" && issue.issue.message !== undefined
        ? issue.issue.message
        : `--types must be column=number|boolean|json pairs, got ${JSON.stringify(issue.actual)}`,
      override: true
    })
  })
)

// the input and the metadata are what differ; the rest are the metadata commands' own options
const { format: _format, ids: _ids, metadata: _metadata, metadataFile: _metadataFile, ...shared } = BulkCommand.options

export const options = {
  records: document(Options.text("records"), {
    flag: "--records",
    value: "path|-",
    type: "file path, or - for stdin",
    required: true,
    description: "The records: one JSON object a line in the API's shape (NDJSON), or CSV for a .csv file or with --csv"
  }),
  csv: flag("csv", "Read the records as CSV with a header row, whatever the file's name"),
  idColumn: document(Options.text("id-column").pipe(Options.optional), {
    flag: "--id-column",
    value: "name",
    type: "text",
    default: "source_id; code for vouchers",
    description: "CSV: the column of the ids; every other column is a metadata key"
  }),
  types: document(Options.text("types").pipe(Options.withSchema(Types), Options.optional), {
    flag: "--types",
    value: "column=type,...",
    type: "number, boolean or json per column",
    default: "every column a string",
    description: "CSV: the columns that are not strings, e.g. weight=number,active=boolean,tags=json (never guessed)"
  }),
  delimiter: document(delimiter, delimiterDoc("CSV: what separates the fields (; as a spreadsheet may write, tab, |)")),
  ...shared
}

type Flags = Command.Command.ParseConfig<typeof options>

const handler = (target: BulkTarget) => (flags: Flags) =>
  Effect.gen(function*() {
    yield* BulkCommand.checkDryRun(flags)
    yield* BulkCommand.checkCombinations({ ...flags, ids: flags.records }, "--records")
    const csv = flags.csv || flags.records.toLowerCase().endsWith(".csv")
    if (!csv && (Option.isSome(flags.idColumn) || Option.isSome(flags.types) || Option.isSome(flags.delimiter))) {
      return yield* new InputError({
        message: "--id-column, --types and --delimiter read CSV: give a .csv file, or --csv for CSV under another name"
      })
    }
    // One limit for the plan and the run: the one the client is configured with.
    const env = yield* Connection.environment
    const maxBytes = yield* BulkCommand.requestBytes(flags.maxBytes, yield* Connection.payloadLimit(env))
    const source = yield* IdInput.openBytes(flags.records, "the records file")
    const parse = <E>(bytes: Stream.Stream<Uint8Array, E>) =>
      csv
        ? BulkRecords.csv(bytes, {
          idColumn: Option.getOrUndefined(flags.idColumn),
          types: Option.getOrUndefined(flags.types),
          delimiter: Option.getOrUndefined(flags.delimiter)
        })
        : BulkRecords.ndjson(bytes)
    yield* IdInput.requireItem(source, (bytes) => recordItems(parse(bytes), target, maxBytes), "records")
    const idColumn = csv ? Option.getOrElse(flags.idColumn, () => bulkTargets[target].records.idField) : undefined
    // every id different, as a look at the whole file found: the run keeps no map of them
    const idsDistinct = yield* RepeatedIds.refuse(source, target, idColumn, maxBytes, Option.getOrUndefined(flags.delimiter))
    const records = parse(source.bytes)
    if (flags.dryRun) {
      return yield* Effect.scoped(Effect.gen(function*() {
        const filter = yield* DryRun.stateFilter(BulkCommand.stateOf(flags), target, recordIdentity(target))
        const chunks = filter === undefined
          ? chunkRecords(records, target, maxBytes, idsDistinct)
          : chunkRecords(records, target, maxBytes, idsDistinct, (items) => filter.through(items))
        return yield* DryRun.printPlan(source, chunks, { maxBytes, what: "records", unchanged: filter?.unchanged })
      }))
    }
    yield* BulkCommand.runChecked(flags, env, maxBytes, {
      target,
      source,
      what: "records",
      start: (settings) => runRecords(records, { ...settings, target }, idsDistinct)
    })
  })

const summaries: Readonly<Record<BulkTarget, string>> = {
  products: "Update products record by record, each with its own fields and metadata (unknown source ids are created)",
  customers: "Update customers record by record, each with its own fields and metadata (unknown source ids are created)",
  vouchers: "Set each voucher's own metadata, by code (unknown codes are reported, not created)"
}

const names: Readonly<Record<BulkTarget, string>> = {
  products: "products-update",
  customers: "customers-update",
  vouchers: "vouchers-update"
}

export const commands = BulkCommand.commandsFor({ names, summaries, options, handler })

/** The help of each command. */
export const docs: ReadonlyArray<CommandDoc> = BulkCommand.docsFor({ names, summaries }, (target) => ({
  usage: ["--records <path|-> [options]", "--records <path.csv> [--id-column <name>] [--types <column=type,...>] [options]"],
  details: [
    "Each record goes as it is, with its own values, packed into bulk requests (chunks) as close to the size limit " +
    "as they go. Every other option works as for the metadata commands. Exit codes: 0 every record accepted (and " +
    "with --await every record done), 1 bad input or options, 2 some records not updated (the report says which), " +
    "3 credentials, configuration or an unreachable server, 130 interrupted."
  ],
  flags: docsOf(options),
  examples: target === "vouchers"
    ? [`--records codes.csv --id-column code --types max=number --dry-run`, `--records vouchers.ndjson --await --report report.json`]
    : [
      `--records ${target}.ndjson --await --report report.json`,
      `--records ${target}.csv --types weight=number,active=boolean --mock`
    ]
}))
