/**
 * Failures as the terminal shows them, in one style: `error: <what went
 * wrong>` on one line, then at most one `hint: <what to do>` line; with the
 * Voucherify key and request id the library's messages carry, and no stack
 * trace. `error:` is red only on a terminal without `NO_COLOR`.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import type * as PlatformError from "@effect/platform/Error"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Style from "./Style.js"

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.length > 0
    ? error.message
    : String(error)

const tagOf = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined

const credentialsHint = "check --app-id and --app-token (or VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN)"

/** A failure in the user's words: what went wrong, and what to do about it when that is known. */
export interface Described {
  readonly message: string
  readonly hint?: string | undefined
}

/** What to say of one failure. */
export const describe = (error: unknown): Described => {
  const tag = tagOf(error)
  const hint = Predicate.hasProperty(error, "hint") && typeof error.hint === "string" ? error.hint : undefined
  switch (tag) {
    case "JournalExistsError":
      return {
        message: `the journal ${(error as { path: string }).path} already exists`,
        hint: "add --resume to continue its run, or give --journal another path"
      }
    case "UnauthorizedError":
    case "ForbiddenError":
      return { message: messageOf(error), hint: credentialsHint }
    case "JournalMismatchError":
      return { message: messageOf(error), hint: "to start a new run, give --journal another path" }
    case "BulkRunError": {
      // the summary above says how far it got: the cause is what to act on
      const { error: cause, report } = error as unknown as { error: unknown; report: { accepted: { items: number } } }
      const inner = describe(cause)
      // stopped before anything was accepted: the cause says it all
      return report.accepted.items === 0 ? inner : { message: messageOf(error), hint: inner.hint }
    }
  }
  return { message: messageOf(error), hint }
}

/** The lines of one failure: `error: …`, then `hint: …` if any. */
export const errorLines = (described: Described, s: Style.Styles = Style.styles(false)): Array<string> => [
  `${s.bold(s.red("error:"))} ${oneLine(described.message)}`,
  ...(described.hint !== undefined ? [`${s.bold("hint:")} ${oneLine(described.hint)}`] : [])
]

/** The lines that describe how a command failed. */
export const causeLines = (cause: Cause.Cause<unknown>, s: Style.Styles = Style.styles(false)): Array<string> => [
  ...Array.from(Cause.failures(cause))
    // @effect/cli printed these itself (the wizard and shell completions are left to it)
    .filter((error) => !ValidationError.isValidationError(error))
    .flatMap((error) => errorLines(describe(error), s)),
  ...Array.from(Cause.defects(cause), (defect) => `${s.bold(s.red("internal error:"))} ${oneLine(messageOf(defect))}`)
]

/** Prints {@link causeLines} on stderr. */
export const printCause = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.sync(() => {
    const lines = causeLines(cause, Style.stylesFor(process.stderr))
    if (lines.length > 0) process.stderr.write(`${lines.join("\n")}\n`)
  })

/**
 * A file system failure in a few words (`no such file`, `permission
 * denied`), rather than the platform's `NotFound: FileSystem.stat (x):
 * ENOENT: …`.
 */
export const fileProblem = (error: PlatformError.PlatformError): string => {
  if (error._tag === "SystemError") {
    switch (error.reason) {
      case "NotFound":
        return "no such file or directory"
      case "PermissionDenied":
        return "permission denied"
      case "AlreadyExists":
        return "it already exists"
      case "Busy":
        return "the file is busy"
    }
    // `EISDIR: illegal operation on a directory, read` → `illegal operation on a directory`
    const text = error.description ?? error.message
    return text.replace(/^[A-Z0-9_]+: /, "").replace(/, \w+ '.*'$/, "").replace(/, \w+$/, "")
  }
  return error.description ?? error.message
}
