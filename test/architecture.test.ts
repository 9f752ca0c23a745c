/**
 * The layout the guides promise, checked on the sources: the wings import
 * the engine, never the other way round, and no module is a tangle.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

const root = join(import.meta.dirname, "..")
const src = join(root, "src")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const importsOf = (file: string): Array<string> =>
  [...readFileSync(file, "utf8").matchAll(/^(?:import|export)\b[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!)

describe("the source layout", () => {
  it("no file under src/internal imports a wing (BulkMetadata.ts, BulkRecords.ts)", () => {
    const offenders = filesUnder(join(src, "internal")).flatMap((file) =>
      importsOf(file)
        .filter((spec) => /\/(BulkMetadata|BulkRecords)\.js$/.test(spec))
        .map((spec) => `${relative(root, file)} imports ${spec}`)
    )
    expect(offenders).toEqual([])
  })

  it("no file in src/ is over 500 lines: past that a file holds two concepts", () => {
    const long = filesUnder(src)
      .map((file) => ({ file: relative(root, file), lines: readFileSync(file, "utf8").split("\n").length }))
      .filter(({ lines }) => lines > 500)
    expect(long).toEqual([])
  })

  it("the public modules export what users call: at most 100 export statements (index.ts aside)", () => {
    const statements = readdirSync(src)
      .filter((name) => name.endsWith(".ts") && name !== "index.ts")
      .reduce((sum, name) => sum + (readFileSync(join(src, name), "utf8").match(/^export\b/gm)?.length ?? 0), 0)
    expect(statements).toBeLessThanOrEqual(100)
  })
})
