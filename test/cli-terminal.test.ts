/**
 * The command in a real terminal: the progress bar in a pseudo-terminal 40,
 * 72 and 120 columns wide (with `script`, replayed by a VT100 model), and in
 * tmux resized while it runs (where tmux is installed); colour only on a
 * terminal and never with NO_COLOR, for the help and the errors.
 */
import { afterAll, describe, expect, inject, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { cli, idList, scratch } from "./support/cli.js"
import { hasScript, hasTmux, inScript, Screen, tmuxServer } from "./support/terminal.js"

const timeout = 120_000
const { file } = scratch("cli-terminal-")
const ids = file("ids.txt", idList("prod", 3000).join("\n"))

/** This process's environment without VOUCHERIFY_* or NO_COLOR, as a user's shell might be. */
const cleanEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] =>
      entry[1] !== undefined && !entry[0].startsWith("VOUCHERIFY_") && entry[0] !== "NO_COLOR"
    )
  ),
  TERM: "xterm-256color",
  ...extra
})

/** A bar's row (the summary's `ids/s` row has no number before it). */
const bar = /[█░]|\d ids\/s|actions \d+\/\d+ done/

/** The rows a terminal `columns` wide shows `lines` on: each wrapped at the last column. */
const wrapped = (lines: ReadonlyArray<string>, columns: number) =>
  lines.flatMap((line) => {
    const chars = Array.from(line)
    if (chars.length === 0) return [""]
    const rows: Array<string> = []
    for (let i = 0; i < chars.length; i += columns) rows.push(chars.slice(i, i + columns).join("").trimEnd())
    return rows
  })

/** The summary table as the program printed it: everything after the bar's last line. */
const summaryOf = (output: string) => output.slice(output.indexOf("status ")).replace(/\r\n/g, "\n").trimEnd().split("\n")

/** Every bar line the program wrote, the escape sequences around it removed. */
const barLines = (output: string) =>
  output.split(/\r|\n/).map((piece) => piece.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")).filter((piece) => bar.test(piece))

layer(MockVoucherifyServer.layer({ processingDelay: "40 millis" }), { excludeTestServices: true })("the progress bar", (it) => {
  const runArgs = (server: MockVoucherifyServer.Service) => [
    process.execPath, inject("cliBin"), "products-metadata", "--ids", ids, "--metadata", `{"season":"summer"}`,
    "--max-bytes", "4000", "--concurrency", "1", "--await",
    "--base-url", server.baseUrl, "--app-id", server.appId, "--app-token", Redacted.value(server.appToken)
  ]
  /** Slow enough that the bar is drawn many times. */
  const slowly = (server: MockVoucherifyServer.Service) =>
    server.setFaults({ rules: [{ fault: { _tag: "Delay", duration: "60 millis" }, path: "/v1/products/metadata/async" }] })

  for (const columns of [40, 72, 120]) {
    it.effect.skipIf(!hasScript)(`fits a pseudo-terminal ${columns} columns wide: one line, none left behind`, () =>
      Effect.gen(function*() {
        const server = yield* MockVoucherifyServer.MockVoucherifyServer
        yield* server.reset
        yield* slowly(server)
        const { code, output } = yield* Effect.promise(() =>
          inScript(runArgs(server), { columns, env: cleanEnv(), before: "first line" })
        )
        expect(code).toBe(0)
        const drawn = barLines(output)
        // redrawn many times, each line at most one column short of the width (never wrapping)
        expect(drawn.length).toBeGreaterThan(5)
        for (const line of drawn) expect(Array.from(line).length, line).toBeLessThan(columns)
        // the screen: the line before the run, the bar's last state, the summary as printed
        const screen = new Screen(columns).write(output).text()
        expect(screen[0]).toBe("first line")
        const chunks = summaryOf(output).find((line) => line.startsWith("chunks "))!.split(/ +/)[1]
        expect(screen[1]).toMatch(new RegExp(`actions ${chunks}/${chunks} done`))
        expect(screen.slice(2)).toEqual(wrapped(summaryOf(output), columns))
        expect(screen.filter((row) => bar.test(row))).toHaveLength(1)
        expect(summaryOf(output)).toEqual(expect.arrayContaining([
          "status         completed",
          `accepted       3,000 ids in ${chunks} chunks`,
          "results        3,000 done, 0 failed"
        ]))
      }), timeout)
  }

  describe.skipIf(!hasTmux)("in tmux", () => {
    const tmux = tmuxServer("effect-voucherify-test")
    afterAll(() => tmux.close())

    const finished = (session: string) =>
      Effect.promise(async () => {
        for (let i = 0; i < 600; i++) {
          const screen = tmux.capture(session)
          if (screen.some((row) => row.startsWith("exit="))) return screen
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        throw new Error(`the command in ${session} did not end:\n${tmux.capture(session).join("\n")}`)
      })

    const visible = (screen: ReadonlyArray<string>) => {
      const rows = [...screen]
      while (rows.length > 0 && rows[rows.length - 1] === "") rows.pop()
      return rows
    }

    for (const columns of [40, 72, 120]) {
      it.effect(`${columns} columns: the bar's last state and the summary, nothing else`, () =>
        Effect.gen(function*() {
          const server = yield* MockVoucherifyServer.MockVoucherifyServer
          yield* server.reset
          yield* slowly(server)
          const session = `fixed-${columns}`
          tmux.start(session, runArgs(server), { columns, rows: 60, env: cleanEnv(), before: ["first line"] })
          const screen = visible(yield* finished(session))
          expect(screen.filter((row) => bar.test(row))).toHaveLength(1)
          expect(screen[0]).toBe("first line")
          expect(screen[1]).toMatch(/actions (\d+)\/\1 done/)
          expect(screen[2]).toBe("status         completed")
          expect(screen).toContain("results        3,000 done, 0 failed")
          expect(screen.at(-1)).toBe("exit=0")
        }), timeout)
    }

    it.effect("a resize while it runs: redrawn at once in the new width, no fragment on the screen", () =>
      Effect.gen(function*() {
        const server = yield* MockVoucherifyServer.MockVoucherifyServer
        yield* server.reset
        yield* server.setFaults({
          // long enough to outlast three resizes on a busy machine
          rules: [{ fault: { _tag: "Delay", duration: "1 second" }, path: "/v1/products/metadata/async" }]
        })
        const session = "resized"
        // tmux rewraps a line made too long by a shrink and keeps the cursor's row: the rows above go
        // to its history. Lines above the bar, as a prompt and earlier output would be, are what goes.
        const before = ["earlier output 1", "earlier output 2", "earlier output 3", "$ effect-voucherify products-metadata …"]
        tmux.start(session, runArgs(server), { columns: 120, rows: 60, env: cleanEnv(), before })
        const shows = (test: (rows: ReadonlyArray<string>) => boolean) =>
          Effect.promise(async () => {
            for (let i = 0; i < 400; i++) {
              const rows = visible(tmux.capture(session))
              if (test(rows)) return rows
              await new Promise((resolve) => setTimeout(resolve, 50))
            }
            return visible(tmux.capture(session))
          })
        // the bar is up, 120 wide
        const wide = yield* shows((rows) => rows.some((row) => /ids\/s/.test(row)))
        expect(wide.filter((row) => bar.test(row))).toHaveLength(1)
        for (const columns of [40, 72, 30]) {
          tmux.resize(session, columns)
          // settled: one bar row, the last, in the new width (tmux shows the old bar rewrapped until the redraw)
          const settled = (rows: ReadonlyArray<string>) =>
            rows.filter((row) => bar.test(row)).length === 1 && bar.test(rows.at(-1)!) &&
            Array.from(rows.at(-1)!).length < columns
          const rows = yield* shows(settled)
          const context = `${columns} columns:\n${rows.join("\n")}`
          expect(settled(rows), context).toBe(true)
          // above it, only the earlier lines (those the shrinks left on the screen)
          expect(wrapped(before, columns), context).toEqual(expect.arrayContaining(rows.slice(0, -1)))
        }
        const screen = visible(yield* finished(session))
        expect(screen.filter((row) => bar.test(row))).toHaveLength(1)
        expect(screen.at(-1)).toBe("exit=0")
        // and none in tmux's history either: what the shrinks pushed there are the lines above
        const all = visible(tmux.capture(session, true))
        expect(all.filter((row) => bar.test(row)), all.join("\n")).toHaveLength(1)
        expect(all.slice(0, 3)).toEqual(before.slice(0, 3))
      }), timeout)
  })
})

describe("help that fits", () => {
  const commands = [["--help"], ["products-metadata", "--help"], ["customers-update", "--help"], ["async-action", "await", "--help"]]
  /** The usage lines: each after the first goes on at an option, an optional part or a value, never mid-word. */
  const usageOf = (text: string) => text.slice(text.indexOf("Usage:\n") + 7, text.indexOf("\n\n", text.indexOf("Usage:"))).split("\n")

  it.effect("piped, it takes COLUMNS (80 without it): the usage wraps between options", () =>
    Effect.gen(function*() {
      for (const args of commands) {
        const help = yield* cli(args, { COLUMNS: "60" })
        expect(help.code).toBe(0)
        for (const line of help.stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(60)
        const usage = usageOf(help.stdout)
        for (const line of usage) {
          // a line that goes on starts at an option with its value, an optional one, or [options]
          expect(line, usage.join("\n")).toMatch(/^( {2}effect-voucherify | {4}(\[?--[a-z-]+( <[^>]+>)?\]?|\[options\])( |$))/)
        }
      }
      const usage = usageOf((yield* cli(["products-metadata", "--help"], { COLUMNS: "60" })).stdout)
      expect(usage).toEqual([
        "  effect-voucherify products-metadata --ids <path|->",
        "    --metadata <json> [options]",
        "  effect-voucherify products-metadata --ids <path|->",
        "    --metadata-file <path> [options]"
      ])
      const wide = yield* cli(["products-metadata", "--help"], { COLUMNS: "" })
      expect(usageOf(wide.stdout)[0]).toBe("  effect-voucherify products-metadata --ids <path|-> --metadata <json> [options]")
    }), timeout)

  it.effect.skipIf(!hasScript)("in a terminal 60 columns wide, no row wraps", () =>
    Effect.gen(function*() {
      for (const args of commands) {
        const help = yield* Effect.promise(() =>
          inScript([process.execPath, inject("cliBin"), ...args], { columns: 60, env: cleanEnv({ COLUMNS: "100" }) })
        )
        const printed = help.output.trimEnd().split("\r\n")
        expect(new Screen(60).write(help.output).text().length, printed.join("\n")).toBe(printed.length)
        for (const line of printed) expect(line.replace(/\x1b\[[0-9;]*m/g, "").length, line).toBeLessThanOrEqual(60)
      }
    }), timeout)
})

describe("colour", () => {
  const esc = "\x1b["

  layer(MockVoucherifyServer.layer(), { excludeTestServices: true })((it) => {
    it.effect("none in piped help and errors: plain text, no line over 80 columns or ending in a space", () =>
      Effect.gen(function*() {
        for (const args of [["--help"], ["products-metadata", "--help"], ["async-action", "await", "--help"], ["mock-server", "-h"]]) {
          const help = yield* cli(args, { COLUMNS: "" })
          expect(help.code).toBe(0)
          expect(help.stdout).not.toContain(esc)
          for (const line of help.stdout.split("\n")) {
            expect(line.length, line).toBeLessThanOrEqual(80)
            expect(line).toBe(line.trimEnd())
          }
        }
        const error = yield* cli(["products-metadata", "--ids", ids, "--metdata", "{}"])
        expect(error.stderr).not.toContain(esc)
      }), timeout)

    it.effect.skipIf(!hasScript)("on a terminal for help and errors, unless NO_COLOR is set", () =>
      Effect.gen(function*() {
        const bin = inject("cliBin")
        const inTerminal = (args: ReadonlyArray<string>, env: Record<string, string>) =>
          Effect.promise(() => inScript([process.execPath, bin, ...args], { columns: 100, env: cleanEnv(env) }))
        const help = yield* inTerminal(["products-metadata", "--help"], {})
        expect(help.output).toContain(`${esc}1mOptions:${esc}22m`)
        // laid out in the terminal's width: no row wraps
        const rows = new Screen(100).write(help.output).text()
        expect(rows.length).toBe(help.output.trimEnd().split("\r\n").length)
        const error = yield* inTerminal(["products-metadata", "--ids", ids, "--metdata", "{}"], {})
        expect(error.output).toContain(`${esc}1m${esc}31merror:${esc}39m${esc}22m unknown option --metdata`)
        expect(error.code).toBe(1)
        for (const args of [["products-metadata", "--help"], ["products-metadata", "--ids", ids, "--metdata", "{}"]]) {
          const plain = yield* inTerminal(args, { NO_COLOR: "1" })
          expect(plain.output).not.toContain(esc)
        }
        // an empty NO_COLOR is no request (https://no-color.org)
        expect((yield* inTerminal(["--help"], { NO_COLOR: "" })).output).toContain(esc)
      }), timeout)
  })
})

describe("a terminal's width for the help", () => {
  it.effect.skipIf(!hasScript)("wraps the help at 40 columns, the options on their own lines", () =>
    Effect.gen(function*() {
      const { output } = yield* Effect.promise(() =>
        inScript([process.execPath, inject("cliBin"), "async-action", "get", "--help"], {
          columns: 40,
          env: cleanEnv({ NO_COLOR: "1" })
        })
      )
      const lines = output.trimEnd().split("\r\n")
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(40)
      expect(lines.join("\n")).toContain("Usage:\n  effect-voucherify async-action get\n    <id> [--json] [options]\n")
      expect(lines.join("\n")).toContain("  --app-id <id>\n      text; env VOUCHERIFY_APP_ID\n      Application id\n")
    }), timeout)
})

