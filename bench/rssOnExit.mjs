// Preloaded into a measured process (`node --import ./bench/rssOnExit.mjs ...`):
// writes its peak resident set size to stderr as it exits. On Linux it is read
// from /proc/self/status (VmHWM): `process.resourceUsage().maxRSS` survives exec
// there, so a child of the (large) benchmark process would report at least the
// size of its parent at the spawn.
import { readFileSync, writeSync } from "node:fs"

const peakKB = () => {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))[1])
  } catch {
    return process.resourceUsage().maxRSS
  }
}

process.on("exit", () => {
  writeSync(2, `\nmaxRssMB=${Math.round(peakKB() / 1024)}\n`)
})
