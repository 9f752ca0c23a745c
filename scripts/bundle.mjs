// The CLI as one ES module with its dependencies inlined (effect, @effect/platform,
// @effect/platform-node, @effect/cli, csv-parse), so that the installed `bin` needs
// nothing beside the package. Parts that `--help` and `--version` never use
// (the HTTP client, the mock server) are split into chunks loaded on first use.
// The SQLite driver of `--state` (libsql, prebuilt) stays a dependency, outside the bundle.
// The HTTP client is Node's own (src/cli/Transport.ts): undici, which
// @effect/platform-node imports for a layer the CLI never uses, is left out.
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Bundles `src/cli/main.ts` into `outdir/main.js` (and `outdir/chunks/`, `outdir/hashWorker.js`); returns esbuild's metafile. */
export const bundleCli = async (outdir) => {
  const result = await build({
    absWorkingDir: root,
    // the sync state's hashing worker and its writer are scripts of their own, beside main.js
    // (src/internal/state/hashPool.ts, src/cli/StateWriter.ts)
    entryPoints: { main: "src/cli/main.ts", hashWorker: "src/internal/state/hashWorker.ts", stateWriter: "src/cli/stateWriterThread.ts" },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    chunkNames: "chunks/[name]-[hash]",
    alias: { undici: "./scripts/undici-absent.mjs" },
    // the SQLite driver of --state: a native binary, installed with the package (a dependency), loaded by
    // the state's chunk only
    external: ["libsql"],
    // CommonJS dependencies `require` Node's modules: give ES modules a `require`.
    banner: { js: "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);" },
    // names stay (stack traces, class names); whitespace and syntax shrink, which shortens parsing
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    logLevel: "warning"
  })
  return result.metafile
}
