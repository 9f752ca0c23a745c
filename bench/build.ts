/** `npm run build`, once per `npm run bench`: the benchmarks that run the `bin` run what ships. */
import { execFile } from "node:child_process"
import { promisify } from "node:util"

let building: Promise<unknown> | undefined

export const build = (): Promise<unknown> =>
  (building ??= promisify(execFile)("npm", ["run", "build"], { maxBuffer: 16 << 20 }))

/** The bundled CLI, once built. */
export const bin = "dist/cli/main.js"
