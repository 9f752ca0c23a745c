/**
 * The `effect-voucherify` command tree, and how a command line runs: the
 * options are parsed by `@effect/cli`, but the help, the version and every
 * usage error are this module's, in the CLI's one style (`Help.ts`,
 * `ErrorOutput.ts`): `@effect/cli` would print its own, padded and in
 * colour wherever they go.
 *
 * Before parsing, a command line is checked for what `@effect/cli` words
 * poorly: `--help` and `--version` anywhere, an unknown command or option
 * (with the nearest known name), and a command group without its command.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { version } from "../internal/version.js"
import * as AsyncActionCommand from "./AsyncActionCommand.js"
import * as BulkCommand from "./BulkCommand.js"
import { InputError } from "./CliError.js"
import type { FlagDoc } from "./Flag.js"
import * as Help from "./Help.js"
import * as MockServerCommand from "./MockServerCommand.js"
import * as RecordsCommand from "./RecordsCommand.js"
import * as Style from "./Style.js"

export const program = "effect-voucherify"

const summary = "Bulk metadata and per-record updates for Voucherify products, customers and vouchers"

/** The help of every command, in the tree's order. */
export const doc: Help.CommandDoc = {
  name: program,
  summary,
  subcommands: [...BulkCommand.docs, ...RecordsCommand.docs, AsyncActionCommand.doc, MockServerCommand.doc]
}

/**
 * The HTTP client, given to the commands as they run (`Transport.ts`): a
 * chunk of the bundled `bin` that `--help` and `--version` never load.
 */
const HttpClientLive = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("./Transport.js")), (module) => module.layer)
)

/** The tree; the commands that call Voucherify get the HTTP client (the mock server needs none). */
const app = Command.make(program).pipe(
  Command.withDescription(summary),
  Command.withSubcommands([
    Command.provide(BulkCommand.commands[0], HttpClientLive),
    Command.provide(BulkCommand.commands[1], HttpClientLive),
    Command.provide(BulkCommand.commands[2], HttpClientLive),
    Command.provide(RecordsCommand.commands[0], HttpClientLive),
    Command.provide(RecordsCommand.commands[1], HttpClientLive),
    Command.provide(RecordsCommand.commands[2], HttpClientLive),
    Command.provide(AsyncActionCommand.command, HttpClientLive),
    MockServerCommand.command
  ])
)

const config = CliConfig.defaultConfig

/** Flags every command takes, handled by `@effect/cli` (but `--help` and `--version`, handled here). */
const builtIns: ReadonlyArray<FlagDoc> = [
  { flag: "--help", description: "" },
  { flag: "-h", description: "" },
  { flag: "--version", description: "" },
  { flag: "--wizard", description: "" },
  { flag: "--completions", value: "shell", description: "" },
  { flag: "--log-level", value: "level", description: "" }
]

/** The help of the command at `path`, on stdout. */
const printHelp = (path: ReadonlyArray<string>, at: Help.CommandDoc) =>
  Effect.sync(() => {
    const text = Help.render(program, path, at, {
      width: Style.widthOf(process.stdout),
      styles: Style.stylesFor(process.stdout),
      version
    })
    process.stdout.write(`${text}\n`)
  })

/** A `HelpDoc`'s words, without `@effect/cli`'s layout or colour. */
const plainText = (doc: HelpDoc.HelpDoc): string => {
  const span = (s: Span.Span): string => {
    switch (s._tag) {
      case "Text":
      case "URI":
        return s.value
      case "Sequence":
        return span(s.left) + span(s.right)
      default:
        return span(s.value)
    }
  }
  switch (doc._tag) {
    case "Empty":
      return ""
    case "Header":
    case "Paragraph":
      return span(doc.value)
    case "Sequence":
      return [plainText(doc.left), plainText(doc.right)].filter((t) => t !== "").join(" ")
    case "Enumeration":
      return doc.elements.map(plainText).join(" ")
    case "DescriptionList":
      return doc.definitions.map(([term, description]) => `${span(term)} ${plainText(description)}`).join(" ")
  }
}

/** `@effect/cli`'s refusal in the CLI's words; the hint points at the command's help. */
export const usageError = (error: ValidationError.ValidationError, command: string): InputError => {
  const text = plainText(error.error).trim()
  const hint = `see ${command} --help`
  const rewrites: ReadonlyArray<readonly [RegExp, (...groups: Array<string>) => InputError]> = [
    [/^Expected to find option: '(.+)'$/, (flag) => new InputError({ message: `${flag} is required`, hint })],
    [/^Expected a value following option: '(.+)'$/, (flag) => new InputError({ message: `${flag} needs a value`, hint })],
    [/^More than one reference to option '(.+)' detected$/, (flag) =>
      new InputError({ message: `${flag} is given more than once`, hint })],
    [/^Missing argument (.+)$/, (arg) => new InputError({ message: `${arg} is missing`, hint })],
    [/^The flag '(.+)' is not recognized\. Did you mean '(.+)'\?$/, (given, meant) =>
      new InputError({ message: `unknown option ${given}`, hint: `did you mean ${meant}? ${hint}` })],
    [/^Received unknown argument: '(.*)'$/, (arg) => new InputError({ message: `unexpected argument ${arg}`, hint })]
  ]
  for (const [pattern, make] of rewrites) {
    const match = pattern.exec(text)
    if (match !== null) return make(...match.slice(1))
  }
  // a value refused by its option's own check: the message names the option and says what it takes
  return new InputError({ message: text === "" ? "invalid command line" : text })
}

/**
 * The first option `args` give that `flags` do not know, as the error that
 * names it and the known option it most likely meant.
 */
export const unknownOption = (
  args: ReadonlyArray<string>,
  flags: ReadonlyArray<FlagDoc>,
  command: string
): InputError | undefined => {
  const known = new Map([...flags, ...builtIns].map((doc) => [doc.flag, doc.value !== undefined] as const))
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    // `--` ends the options; `-` is stdin
    if (arg === "--") return undefined
    if (!arg.startsWith("-") || arg === "-") continue
    const name = arg.split("=")[0]!
    const takesValue = known.get(name)
    if (takesValue === undefined) {
      const meant = Help.closest(name, [...flags.map((doc) => doc.flag), "--help", "--version"])
      return new InputError({
        message: `unknown option ${name}`,
        hint: meant !== undefined ? `did you mean ${meant}? See ${command} --help` : `see ${command} --help`
      })
    }
    // the option's value, which may start with "-" itself
    if (takesValue && !arg.includes("=")) i++
  }
  return undefined
}

/** Runs the command line `argv` (as `process.argv`: runtime and script first). */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const args = argv.slice(2)
    const { consumed, doc: at, path } = Help.locate(doc, args)
    const command = [program, ...path].join(" ")
    const rest = args.slice(consumed)
    const options = rest.indexOf("--") === -1 ? rest : rest.slice(0, rest.indexOf("--"))
    if (options.includes("--help") || options.includes("-h")) return printHelp(path, at)
    if (options.includes("--version")) return Effect.sync(() => void process.stdout.write(`${version}\n`))
    const isGroup = at.subcommands !== undefined && at.subcommands.length > 0
    if (isGroup) {
      // a group without its command: what it has, as --help would say
      if (rest.length === 0) return printHelp(path, at)
      const [first] = rest
      if (!first!.startsWith("-")) {
        const meant = Help.closest(first!, at.subcommands!.map((sub) => sub.name))
        return Effect.fail(
          new InputError({
            message: `unknown command ${first}`,
            hint: meant !== undefined ? `did you mean ${command} ${meant}? See ${command} --help` : `see ${command} --help`
          })
        )
      }
    }
    const unknown = unknownOption(options, isGroup ? [] : at.flags ?? [], command)
    if (unknown !== undefined) return Effect.fail(unknown)
    return Descriptor.parse(app.descriptor, [program, ...args], config).pipe(
      Effect.mapError((error) => usageError(error, command)),
      Effect.flatMap((directive) => {
        if (directive._tag === "BuiltIn") {
          // --wizard, --completions and --log-level: @effect/cli's own
          return Command.run(app, { name: program, version })(argv)
        }
        if (directive.leftover.length > 0) {
          return Effect.fail(
            new InputError({ message: `unexpected argument ${directive.leftover[0]}`, hint: `see ${command} --help` })
          )
        }
        return app.transform(app.handler(directive.value), directive.value)
      })
    )
  })
