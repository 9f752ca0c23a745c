/**
 * The `effect-voucherify` command as a child process, the way an operator
 * runs it: its exit code and everything it printed.
 */
import { inject } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import type * as MockVoucherifyServer from "../../src/testing/MockVoucherifyServer.js"

export const root = resolve(import.meta.dirname, "../..")

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Starts the bundled `bin` (built once for the suite by `cliBundle.ts`, as
 * `npm run build` ships it); `done` settles when it exits. No `VOUCHERIFY_*`
 * variable leaks in from this process.
 */
export const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}, stdin?: string) => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VOUCHERIFY_")))
  const child: ChildProcess = spawn(process.execPath, [inject("cliBin"), ...args], {
    cwd: root,
    env: { ...clean, ...env },
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
  })
  if (stdin !== undefined) child.stdin!.end(stdin)
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (data) => (stdout += data))
  child.stderr!.on("data", (data) => (stderr += data))
  // listened for from the start: a process that ends before anyone waits is still seen to end
  const closed = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })))
  return { child, done: Effect.promise(() => closed) }
}

export const cli = (args: ReadonlyArray<string>, env?: Record<string, string>, stdin?: string) =>
  start(args, env, stdin).done

/** A scratch folder of the test file's own, and a way to write files into it. */
export const scratch = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    dir,
    path: (name: string) => join(dir, name),
    file: (name: string, text: string) => {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    }
  }
}

export const idList = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}_${String(i).padStart(5, "0")}`)

/** The flags that point the command at a running mock server, with its keys. */
export const flagsOf = (server: MockVoucherifyServer.Service) => [
  "--base-url",
  server.baseUrl,
  "--app-id",
  server.appId,
  "--app-token",
  Redacted.value(server.appToken)
]
