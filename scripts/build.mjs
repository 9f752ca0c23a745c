// `npm run build`: emits dist/ from src/ with tsconfig.build.json, then makes
// the CLI entry runnable as the package's `bin`.
import { execFileSync } from "node:child_process"
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url))

// A module whose source was deleted must not linger in dist/ and ship.
rmSync(at("dist"), { recursive: true, force: true })

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
execFileSync(process.execPath, [tsc, "-p", at("tsconfig.build.json")], { cwd: root, stdio: "inherit" })

// npm links `bin` files as they are: the shebang and the mode must be there.
const bin = at("dist/cli/main.js")
const text = readFileSync(bin, "utf8")
if (!text.startsWith("#!")) writeFileSync(bin, `#!/usr/bin/env node\n${text}`)
chmodSync(bin, 0o755)
