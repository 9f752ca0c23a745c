// `npm run build`: the library's ES modules and .d.ts files into dist/ from src/
// with tsconfig.build.json (effect and @effect/platform stay imports: they are
// peers), each with its source map and declaration map pointing into src/,
// which the package ships (but src/cli/ and src/testing/bin/); then the CLI
// bundled into dist/cli/ with everything it needs inlined, made executable as
// the package's `bin`.
import { execFileSync } from "node:child_process"
import { chmodSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { bundleCli } from "./bundle.mjs"

const root = fileURLToPath(new URL("..", import.meta.url))
const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url))

// A module whose source was deleted must not linger in dist/ and ship.
rmSync(at("dist"), { recursive: true, force: true })

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
execFileSync(process.execPath, [tsc, "-p", at("tsconfig.build.json")], { cwd: root, stdio: "inherit" })

await bundleCli(at("dist/cli"))
// npm links `bin` files as they are: the mode must be there (the shebang comes from src/cli/main.ts).
chmodSync(at("dist/cli/main.js"), 0o755)
