/**
 * Benchmark 5: how soon the installed command answers. `--version` and
 * `--help` of the bundled `bin` (after `npm run build`) against `node -e 0`,
 * Node's own start, in alternating rounds; the fastest of each counts.
 * Target: within 8 times `node -e 0`.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { bin, build } from "./build.js"
import { ratioResult, type Result, timeBest } from "./measure.js"

const node = (args: ReadonlyArray<string>) => promisify(execFile)(process.execPath, args)

/** Peak RSS of `node <args>`, from bench/rssOnExit.mjs. */
const peakRss = async (args: ReadonlyArray<string>) =>
  Number(/maxRssMB=(\d+)/.exec((await node(["--import", "./bench/rssOnExit.mjs", ...args])).stderr)?.[1])

const rounds = 15

export const run = async (): Promise<ReadonlyArray<Result>> => {
  await build()
  const nodeAlone = () => node(["-e", "0"])
  const version = await timeBest(rounds, nodeAlone, () => node([bin, "--version"]))
  const help = await timeBest(rounds, nodeAlone, () => node([bin, "--help"]))
  const memory = `peak RSS ${await peakRss([bin, "--version"])} MB (node -e 0: ${await peakRss(["-e", "0"])} MB)`
  return [
    ratioResult("5. startup: effect-voucherify --version vs node -e 0", version, 8, [
      `${rounds} rounds each, whole processes; ${memory}`
    ]),
    ratioResult("5. startup: effect-voucherify --help vs node -e 0", help, 8, [
      "neither loads the HTTP client nor the mock server: they are chunks loaded on first use"
    ])
  ]
}
