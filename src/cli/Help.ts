/**
 * `--help`: the program's name in every usage line, each option with its
 * value, its type in words, its default and its environment variable, laid
 * out in the terminal's width (`COLUMNS`, else 80, for a file or a pipe) with no
 * trailing spaces, in colour only where `Style.ts` allows it.
 */
import type { FlagDoc } from "./Flag.js"
import type { Styles } from "./Style.js"

export interface ArgDoc {
  /** `<id>` */
  readonly name: string
  readonly description: string
}

export interface CommandDoc {
  readonly name: string
  /** One line: what the command does. */
  readonly summary: string
  /** Further paragraphs, after the usage. */
  readonly details?: ReadonlyArray<string> | undefined
  /** What follows the command's name in each usage line, e.g. `--ids <path|-> --metadata <json> [options]`. */
  readonly usage?: ReadonlyArray<string> | undefined
  readonly args?: ReadonlyArray<ArgDoc> | undefined
  readonly flags?: ReadonlyArray<FlagDoc> | undefined
  readonly subcommands?: ReadonlyArray<CommandDoc> | undefined
  /** Worked examples, one command line each (without the program's name). */
  readonly examples?: ReadonlyArray<string> | undefined
}

/** `-h, --help`, which every command takes. */
export const helpFlag: FlagDoc = { flag: "--help", description: "Print this help (also -h)" }

export const versionFlag: FlagDoc = { flag: "--version", description: "Print the version" }

/** Words of `text` in lines of at most `width` columns after `indent` spaces; a longer word gets its own line. */
export const wrap = (text: string, width: number, indent: number): Array<string> =>
  wrapWords(text.split(/\s+/), width, indent)

/**
 * Units (words, or an option with its value) in lines, the first after
 * `indent` spaces and the others after `hang`; a unit too long for a line
 * is split into its words.
 */
const wrapWords = (units: ReadonlyArray<string>, width: number, indent: number, hang = indent): Array<string> => {
  const roomOf = (line: number) => Math.max(20, width - (line === 0 ? indent : hang))
  const lines: Array<string> = []
  let line = ""
  const words = units.flatMap((unit) => (unit.length > roomOf(1) ? unit.split(/\s+/) : [unit]))
  for (const word of words.filter((w) => w.length > 0)) {
    if (line === "") line = word
    else if (line.length + 1 + word.length <= roomOf(lines.length)) line += ` ${word}`
    else {
      lines.push(line)
      line = word
    }
  }
  if (line !== "") lines.push(line)
  return lines.map((l, i) => `${" ".repeat(i === 0 ? indent : hang)}${l}`)
}

/** `required; integer, at least 1; default 2; env VOUCHERIFY_X`: what the option takes, in words. */
export const facts = (doc: FlagDoc): string =>
  [
    doc.required === true ? "required" : undefined,
    doc.type,
    doc.default !== undefined ? `default ${doc.default}` : undefined,
    doc.env !== undefined ? `env ${doc.env}` : undefined
  ].filter((fact) => fact !== undefined).join("; ")

const flagLines = (doc: FlagDoc, width: number, s: Styles): Array<string> => {
  const name = doc.value === undefined ? doc.flag : `${doc.flag} <${doc.value}>`
  const about = facts(doc)
  const head = `  ${s.bold(name)}`
  const lines = about === ""
    ? [head]
    : 2 + name.length + 2 + about.length <= width
    ? [`${head}  ${s.dim(about)}`]
    : [head, ...wrap(about, width, 6).map(s.dim)]
  return [...lines, ...wrap(doc.description, width, 6)]
}

/** Every leaf below `doc`, by its path: `async-action get`. */
const leaves = (doc: CommandDoc, path: ReadonlyArray<string>): Array<{ path: ReadonlyArray<string>; doc: CommandDoc }> =>
  doc.subcommands === undefined || doc.subcommands.length === 0
    ? [{ path, doc }]
    : doc.subcommands.flatMap((sub) => leaves(sub, [...path, sub.name]))

/**
 * The help of the command at `path` (`[]` for the program itself), whose
 * documentation is `doc`; `program` is the name the usage lines start with.
 */
export const render = (
  program: string,
  path: ReadonlyArray<string>,
  doc: CommandDoc,
  options: { readonly width: number; readonly styles: Styles; readonly version?: string | undefined }
): string => {
  const { styles: s, width } = options
  const command = [program, ...path].join(" ")
  const out: Array<string> = []
  const section = (title: string) => out.push("", s.bold(`${title}:`))
  out.push(...wrap(path.length === 0 && options.version !== undefined ? `${program} ${options.version}: ${doc.summary}` : doc.summary, width, 0))

  section("Usage")
  const usages = doc.subcommands !== undefined && doc.subcommands.length > 0
    ? [`<command> [options]`]
    : doc.usage ?? ["[options]"]
  for (const usage of usages) {
    // a long usage line goes on, indented, between options (each with its value) rather than off the edge
    out.push(...wrapWords(`${command} ${usage}`.split(/ (?=--|\[|\()/), width, 2, 4))
  }
  for (const paragraph of doc.details ?? []) out.push("", ...wrap(paragraph, width, 0))

  if (doc.subcommands !== undefined && doc.subcommands.length > 0) {
    section("Commands")
    for (const leaf of leaves(doc, [])) {
      const args = (leaf.doc.args ?? []).map((arg) => ` ${arg.name}`).join("")
      out.push(`  ${s.bold(leaf.path.join(" "))}${args}`, ...wrap(leaf.doc.summary, width, 6))
    }
    out.push("", ...wrap(`Run ${command} <command> --help for the options of a command.`, width, 0))
  }
  if (doc.args !== undefined && doc.args.length > 0) {
    section("Arguments")
    for (const arg of doc.args) out.push(`  ${s.bold(arg.name)}`, ...wrap(arg.description, width, 6))
  }
  const flags = [...(doc.flags ?? []), helpFlag, ...(path.length === 0 ? [versionFlag] : [])]
  section("Options")
  for (const flag of flags) out.push(...flagLines(flag, width, s))
  if (doc.examples !== undefined && doc.examples.length > 0) {
    section("Examples")
    // lines a shell takes as they are: a long one goes on after a backslash
    for (const example of doc.examples) {
      // an option stays with its value
      const lines = wrapWords(`${command} ${example}`.split(/ (?=--)/), width - 6, 0)
      lines.forEach((line, i) => out.push(`  ${i > 0 ? "  " : ""}${line}${i < lines.length - 1 ? " \\" : ""}`))
    }
  }
  return out.map((line) => line.trimEnd()).join("\n")
}

/** Finds the command that `args` name from `root`: its path, its doc, and how many arguments named it. */
export const locate = (
  root: CommandDoc,
  args: ReadonlyArray<string>
): { readonly path: ReadonlyArray<string>; readonly doc: CommandDoc; readonly consumed: number } => {
  let doc = root
  const path: Array<string> = []
  let i = 0
  while (i < args.length) {
    const next = doc.subcommands?.find((sub) => sub.name === args[i])
    if (next === undefined) break
    doc = next
    path.push(next.name)
    i++
  }
  return { path, doc, consumed: i }
}

/** Edit distance of two strings (insertions, deletions, substitutions, swaps of neighbours). */
export const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The known name `given` was most likely meant to be, if one is close enough. */
export const closest = (given: string, known: ReadonlyArray<string>): string | undefined => {
  const prefixed = known.filter((name) => name.startsWith(given) && given.length >= 3)
  if (prefixed.length > 0) return prefixed.sort((a, b) => a.length - b.length)[0]
  let best: { readonly name: string; readonly distance: number } | undefined
  for (const name of known) {
    const d = distance(given, name)
    if (best === undefined || d < best.distance) best = { name, distance: d }
  }
  const allowed = Math.max(2, Math.floor(given.length / 4))
  return best !== undefined && best.distance <= allowed ? best.name : undefined
}
