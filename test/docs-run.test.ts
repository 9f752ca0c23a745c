/**
 * The docs run: every program block of the README and of the guides is
 * bundled as it is written (with `effect-voucherify` mapped onto src/) and
 * run with node, as a user runs a pasted file, in a folder holding the files
 * it names, against a mock server given through the environment the block
 * reads (`VOUCHERIFY_APP_ID`, `VOUCHERIFY_APP_TOKEN`, `VOUCHERIFY_BASE_URL`);
 * it must finish with exit code 0. Every block that imports `@effect/vitest`
 * runs under vitest, as the README's install line sets it up. A block that
 * provides a program its layers and never runs it is a mistake.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { build } from "esbuild"
import { spawn } from "node:child_process"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import * as MockVoucherifyServer from "../src/testing/MockVoucherifyServer.js"
import { scratch } from "./support/cli.js"
import { type Block, blocks, nameOf, packagePaths, root, runs } from "./support/docBlocks.js"

// inside the checkout, so that the bundles' imports resolve from its node_modules
const out = path.join(root, ".scratch", `docs-run-${process.pid}`)
const work = scratch("docs-run-")
// the files the guides read
work.file("ids.txt", Array.from({ length: 1000 }, (_, i) => `prod_${i}`).join("\n") + "\n")
work.file("products.csv", "sku,tier,weight,active,zip\nsku-1,gold,12.5,true,00123\nsku-2,silver,0.75,false,\nsku-3,,3,true,90210\n")

const bundle = (block: Block, file: string) =>
  Effect.promise(async () => {
    mkdirSync(out, { recursive: true })
    const entry = path.join(out, `${file}.ts`)
    writeFileSync(entry, block.code)
    await build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile: path.join(out, `${file}.mjs`),
      bundle: true,
      format: "esm",
      platform: "node",
      packages: "external",
      alias: Object.fromEntries(Object.entries(packagePaths).map(([name, file]) => [name, `./${file}`])),
      logLevel: "error"
    })
    rmSync(entry)
    return path.join(out, `${file}.mjs`)
  })

interface Exit {
  readonly code: number | null
  readonly output: string
}

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<Exit>((resolve) => {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VOUCHERIFY_")))
      const child = spawn(process.execPath, args, { cwd: work.dir, env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let output = ""
      child.stdout.on("data", (data) => (output += data))
      child.stderr.on("data", (data) => (output += data))
      child.on("close", (code) => resolve({ code, output }))
    })
  )

const fileOf = (block: Block) => `${block.document.replace(/\W/g, "_")}_${block.nth}`

describe("the docs run", () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("a block that provides a program runs it, in its last statement; the rest are fragments", () => {
    const unrun = blocks.filter((block) => block.kind === "fragment" && /Effect\.provide\(/.test(block.code))
    expect(unrun.map(nameOf)).toEqual([])
    const programs = blocks.filter((block) => block.kind === "program")
    expect(programs.length).toBeGreaterThan(6)
    // the last statement: from the last line that starts at the margin with neither `)` nor `}`
    const lastStatement = (code: string) => {
      const lines = code.trimEnd().split("\n")
      const starts = lines.map((line, i) => (/^[^\s)}]/.test(line) ? i : -1)).filter((i) => i >= 0)
      return lines.slice(starts[starts.length - 1]).join("\n")
    }
    const notLast = programs.filter((block) => !runs.test(lastStatement(block.code)))
    expect(notLast.map(nameOf)).toEqual([])
  })

  for (const block of blocks.filter((block) => block.kind === "program")) {
    it.live(`${nameOf(block)} runs to its end`, () =>
      Effect.gen(function*() {
        const server = yield* MockVoucherifyServer.MockVoucherifyServer
        const file = yield* bundle(block, fileOf(block))
        const exit = yield* run([file], {
          VOUCHERIFY_APP_ID: server.appId,
          VOUCHERIFY_APP_TOKEN: Redacted.value(server.appToken),
          VOUCHERIFY_BASE_URL: server.baseUrl
        })
        expect(exit, nameOf(block)).toMatchObject({ code: 0 })
      }).pipe(Effect.provide(MockVoucherifyServer.layer({ processingDelay: "0 millis" }))), 120_000)
  }

  for (const block of blocks.filter((block) => block.kind === "test")) {
    it.live(`${nameOf(block)} passes under vitest`, () =>
      Effect.gen(function*() {
        const file = yield* bundle(block, `${fileOf(block)}.test`)
        writeFileSync(path.join(out, "vitest.config.mjs"), "export default { test: { include: [\"*.test.mjs\"] } }\n")
        const exit = yield* run(
          [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", path.basename(file), "--root", out, "--config", path.join(out, "vitest.config.mjs")],
          { NO_COLOR: "1" }
        )
        expect(exit.output, nameOf(block)).toMatch(/Tests +1 passed/)
        expect(exit.code, exit.output).toBe(0)
      }), 120_000)
  }
})
