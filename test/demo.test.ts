/**
 * `npm start`, with fewer ids: the demo runs end to end over real HTTP and
 * exits 0 only once the server's store is verified.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")

describe("demo", () => {
  it("updates, awaits and verifies every product, then prints the summary", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "demo/main.ts", "30000"], {
      cwd: root,
      encoding: "utf8",
      // small requests, so that a small run still makes several of them
      env: { ...process.env, DEMO_MAX_BYTES: "100000" }
    })
    expect(run.stderr).toMatch(/^MockVoucherifyServer on http:\/\/127\.0\.0\.1:\d+: streaming 30,000 product ids/)
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^status +completed$/m)
    expect(run.stdout).toMatch(/^ids +30,000$/m)
    expect(run.stdout).toMatch(/^requests +5$/m)
    expect(run.stdout).toMatch(/^average fill +\d+\.\d\d% of 100,000 bytes$/m)
    expect(run.stdout).toMatch(/^actions +5 DONE, 0 FAILED$/m)
    expect(run.stdout).toMatch(/^verified +all 30,000 products in the server's store carry the metadata$/m)
  }, 120_000)
})
