/**
 * Vitest global setup: the CLI bundled once for the whole suite, as
 * `npm run build` bundles it, so that the tests spawn what users install
 * (and each child process starts in a fraction of a second instead of
 * compiling the sources with tsx). The bundle is kept in
 * node_modules/.cache and rebuilt only when one of its inputs changed.
 */
import { createHash } from "node:crypto"
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import type { TestProject } from "vitest/node"
import { bundleCli } from "../../scripts/bundle.mjs"

declare module "vitest" {
  export interface ProvidedContext {
    /** The bundled `bin`: run it with `node <cliBin> <args>`. */
    readonly cliBin: string
  }
}

const root = resolve(import.meta.dirname, "..", "..")
// one cache per checkout: git worktrees may share one node_modules, and each must run its own bundle
const cache = join(root, "node_modules", ".cache", `effect-voucherify-cli-${createHash("sha256").update(root).digest("hex").slice(0, 12)}`)
const fingerprintFile = join(cache, "inputs.json")

/** Size and modification time of every input, and of the bundler itself. */
const fingerprint = (inputs: ReadonlyArray<string>): string =>
  JSON.stringify([...inputs, "scripts/bundle.mjs"].map((path) => {
    const stat = statSync(join(root, path), { throwIfNoEntry: false })
    return stat === undefined ? [path] : [path, stat.size, stat.mtimeMs]
  }))

const isFresh = (): boolean => {
  if (!existsSync(fingerprintFile) || !existsSync(join(cache, "main.js"))) return false
  const saved = JSON.parse(readFileSync(fingerprintFile, "utf8")) as { inputs: Array<string>; fingerprint: string }
  return fingerprint(saved.inputs) === saved.fingerprint
}

export default async function setup(project: TestProject): Promise<void> {
  if (!isFresh()) {
    // built aside and moved in whole: a run that stops half-way leaves no half bundle behind
    const next = `${cache}-${process.pid}`
    const inputs = Object.keys((await bundleCli(next)).inputs)
    writeFileSync(join(next, "inputs.json"), JSON.stringify({ inputs, fingerprint: fingerprint(inputs) }))
    rmSync(cache, { recursive: true, force: true })
    renameSync(next, cache)
  }
  project.provide("cliBin", join(cache, "main.js"))
}
