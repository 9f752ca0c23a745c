/**
 * The README's command-line session, run line by line in an empty folder as
 * a new user runs it: `npx effect-voucherify` is the bundled `bin`, the mock
 * server is one started in this process (the README starts it on port 3000,
 * with the keys it exports), and `<id>` is an id the summary before it listed.
 * Then `--resume` with no journal: refused before anything starts.
 */
import { describe, expect, inject, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { root, type Run, scratch } from "./support/cli.js"

const session = readFileSync(path.join(root, "README.md"), "utf8")
  .match(/In an empty folder[\s\S]*?```console\n([\s\S]*?)```/)![1]!
  .split("\n")
  .filter((line) => line.startsWith("$ "))
  .map((line) => line.slice(2))

const shell = (dir: string, line: string, env: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VOUCHERIFY_")))
      const command = line.replace(/^npx effect-voucherify /, `"${process.execPath}" "${inject("cliBin")}" `)
      const child = spawn("sh", ["-c", command], { cwd: dir, env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (data) => (stdout += data))
      child.stderr.on("data", (data) => (stderr += data))
      child.on("close", (code) => resolve({ code, stdout, stderr }))
    })
  )

describe("the README's command line", () => {
  it.live("runs in the order shown in an empty folder", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const { dir } = scratch("readme-cli-")
      const env = {
        VOUCHERIFY_BASE_URL: server.baseUrl,
        VOUCHERIFY_APP_ID: server.appId,
        VOUCHERIFY_APP_TOKEN: Redacted.value(server.appToken)
      }
      expect(session[0]).toBe("npx effect-voucherify mock-server --port 3000 &")
      expect(session[1]).toBe(
        `export VOUCHERIFY_BASE_URL=http://127.0.0.1:3000 VOUCHERIFY_APP_ID=${env.VOUCHERIFY_APP_ID} VOUCHERIFY_APP_TOKEN=${env.VOUCHERIFY_APP_TOKEN}`
      )
      let ids: ReadonlyArray<string> = []
      for (const line of session.slice(2)) {
        const run = yield* shell(dir, line.replace("<id>", ids[0] ?? "<id>"), env)
        expect({ line, code: run.code, stderr: run.stderr }).toMatchObject({ line, code: 0 })
        expect(run.stderr, line).not.toMatch(/^error:/m)
        const listed = run.stdout.match(/^action ids +(.+)$/m)
        if (listed !== null) ids = listed[1]!.split(" ").filter((id) => id.startsWith("aa_"))
      }
      expect(ids.length).toBeGreaterThan(0)
      expect(existsSync(path.join(dir, "report.json"))).toBe(true)
      expect(yield* server.checkMetadata("products", ["prod_1", "prod_100000"], { season: "winter" })).toMatchObject({ missing: 0, mismatched: 0 })
    }).pipe(Effect.provide(MockVoucherifyServer.layer({ processingDelay: "0 millis" }))), 120_000)

  it.live("--resume with no journal yet: an error naming it and a hint, before any request", () =>
    Effect.gen(function*() {
      const server = yield* MockVoucherifyServer.MockVoucherifyServer
      const { dir, file } = scratch("readme-cli-")
      file("ids.txt", "prod_1\nprod_2\n")
      const env = {
        VOUCHERIFY_BASE_URL: server.baseUrl,
        VOUCHERIFY_APP_ID: server.appId,
        VOUCHERIFY_APP_TOKEN: Redacted.value(server.appToken)
      }
      for (const mock of ["", " --mock"]) {
        const run = yield* shell(
          dir,
          `npx effect-voucherify products-metadata --ids ids.txt --metadata '{"a":1}' --journal run.journal --resume${mock}`,
          env
        )
        expect(run).toEqual({
          code: 1,
          stdout: "",
          stderr: "error: there is no journal run.journal to resume: nothing was sent\n" +
            "hint: leave out --resume to start the run with a new journal run.journal\n"
        })
      }
      expect(existsSync(path.join(dir, "run.journal"))).toBe(false)
      expect(yield* server.requests).toEqual([])
    }).pipe(Effect.provide(MockVoucherifyServer.layer())), 60_000)
})
