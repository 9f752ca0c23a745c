// Preloaded into a measured process (`node --import ./bench/rssOnExit.mjs ...`):
// writes its peak resident set size to stderr as it exits.
import { writeSync } from "node:fs"

process.on("exit", () => {
  writeSync(2, `\nmaxRssMB=${Math.round(process.resourceUsage().maxRSS / 1024)}\n`)
})
