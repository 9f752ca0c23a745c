/**
 * Programs in a real pseudo-terminal, and what their screen shows.
 *
 * - {@link inScript}: `script` (util-linux, on every Debian or Ubuntu
 *   machine) gives the program a pty of a set width (`stty cols`); its
 *   output is replayed by {@link Screen}, a small VT100 model: printable
 *   text with the terminal's automatic wrap at the last column (which can be
 *   turned off), CR, LF, cursor up and down, erase in line and in display.
 *   Enough to see a line left behind or a line that wrapped.
 * - {@link inTmux}: a real terminal (tmux, when it is installed), whose
 *   window can be resized while the program runs, read with `capture-pane`.
 *
 * Neither needs a package beyond `npm ci`; a test skips where the tool is
 * missing.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0

/** util-linux `script` with `-e` (the child's exit code) and `-c`. */
export const hasScript: boolean = has("script") &&
  /util-linux/.test(spawnSync("script", ["--version"], { encoding: "utf8" }).stdout ?? "")

export const hasTmux: boolean = has("tmux")

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`

/** `argv` as one shell command line. */
export const shellLine = (argv: ReadonlyArray<string>): string => argv.map(quote).join(" ")

/**
 * Runs `argv` in a pseudo-terminal `columns` wide; resolves with everything
 * the terminal received (stdout and stderr, as a terminal gets them) and the
 * exit code.
 */
export const inScript = (
  argv: ReadonlyArray<string>,
  options: {
    readonly columns: number
    readonly env: NodeJS.ProcessEnv
    readonly rows?: number
    /** A line printed before the program starts, which its output must leave alone. */
    readonly before?: string
  }
): Promise<{ readonly output: string; readonly code: number | null }> =>
  new Promise((resolve, reject) => {
    const before = options.before === undefined ? "" : `echo ${quote(options.before)} && `
    const command = `stty cols ${options.columns} rows ${options.rows ?? 200} && ${before}exec ${shellLine(argv)}`
    const child = spawn("script", ["-qefc", command, "/dev/null"], {
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"]
    })
    const chunks: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ output: Buffer.concat(chunks).toString("utf8"), code }))
  })

/** A screen of `columns` columns and no height limit (nothing scrolls away), fed a terminal's input. */
export class Screen {
  readonly rows: Array<Array<string>> = [[]]
  row = 0
  col = 0
  /** Set by a character written in the last column: the next one goes to the next line first. */
  private pendingWrap = false
  /** The automatic wrap at the last column (DECAWM, `ESC [?7h` / `ESC [?7l`). */
  private autowrap = true
  constructor(readonly columns: number) {}

  private line(row: number): Array<string> {
    while (this.rows.length <= row) this.rows.push([])
    return this.rows[row]!
  }

  private put(char: string) {
    if (this.pendingWrap) {
      this.row++
      this.col = 0
      this.pendingWrap = false
    }
    const line = this.line(this.row)
    while (line.length < this.col) line.push(" ")
    line[this.col] = char
    if (this.col < this.columns - 1) this.col++
    // without the automatic wrap, what goes past the last column overwrites it
    else if (this.autowrap) this.pendingWrap = true
  }

  private csi(params: string, final: string) {
    if (params === "?7") {
      if (final === "h") this.autowrap = true
      if (final === "l") this.autowrap = false
      return
    }
    const n = params === "" ? 1 : Number(params.split(";")[0])
    switch (final) {
      case "A":
        this.row = Math.max(0, this.row - n)
        this.pendingWrap = false
        return
      case "B":
        this.row += n
        this.line(this.row)
        this.pendingWrap = false
        return
      case "K": {
        const line = this.line(this.row)
        if (params === "2") line.length = 0
        else if (params === "" || params === "0") line.length = Math.min(line.length, this.col)
        return
      }
      case "J":
        if (params === "" || params === "0") {
          this.line(this.row).length = Math.min(this.line(this.row).length, this.col)
          this.rows.length = this.row + 1
        }
        return
      default:
        // colours (m) and anything else move nothing
        return
    }
  }

  write(text: string): this {
    const chars = Array.from(text)
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!
      if (c === "\x1b") {
        if (chars[i + 1] === "[") {
          let j = i + 2
          let params = ""
          while (j < chars.length && /[0-9;?]/.test(chars[j]!)) params += chars[j++]
          this.csi(params, chars[j] ?? "")
          i = j
        } else if (chars[i + 1] === "]") {
          // an OSC sequence, up to BEL or ST
          let j = i + 2
          while (j < chars.length && chars[j] !== "\x07" && !(chars[j] === "\x1b" && chars[j + 1] === "\\")) j++
          i = chars[j] === "\x07" ? j : j + 1
        } else {
          i++
        }
      } else if (c === "\r") {
        this.col = 0
        this.pendingWrap = false
      } else if (c === "\n") {
        this.row++
        this.line(this.row)
        this.pendingWrap = false
      } else if (c === "\b") {
        this.col = Math.max(0, this.col - 1)
      } else if (c >= " ") {
        this.put(c)
      }
    }
    return this
  }

  /** The rows as text, without trailing spaces, and without the empty rows at the end. */
  text(): Array<string> {
    const lines = this.rows.map((row) => row.join("").trimEnd())
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
    return lines
  }
}

/** A tmux server of its own (its own socket), for one test file; `close` ends it and only it. */
export const tmuxServer = (name: string) => {
  const socket = `${name}-${process.pid}`
  const tmux = (args: ReadonlyArray<string>) => execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" })
  return {
    /** Starts `argv` in a detached session `columns` × `rows`; it stays open after the program ends. */
    start: (
      session: string,
      argv: ReadonlyArray<string>,
      options: {
        readonly columns: number
        readonly rows: number
        readonly env: Record<string, string>
        /** Lines printed before the program starts, as a shell's prompt and earlier output would be. */
        readonly before?: ReadonlyArray<string>
      }
    ) => {
      const exports = Object.entries(options.env).map(([key, value]) => `export ${key}=${quote(value)};`).join(" ")
      const before = (options.before ?? []).map((line) => `echo ${quote(line)};`).join(" ")
      tmux([
        "new-session", "-d", "-s", session, "-x", String(options.columns), "-y", String(options.rows),
        `${exports} ${before} ${shellLine(argv)}; echo "exit=$?"; sleep 600`
      ])
    },
    resize: (session: string, columns: number) => {
      tmux(["resize-window", "-t", session, "-x", String(columns)])
    },
    /** The visible screen's rows (with `history`, the scrollback's before them), without trailing spaces. */
    capture: (session: string, history = false): Array<string> =>
      tmux(["capture-pane", "-p", ...(history ? ["-S", "-"] : []), "-t", session]).split("\n").map((l) => l.trimEnd()),
    close: () => {
      try {
        tmux(["kill-server"])
      } catch {
        // already gone
      }
    }
  }
}
