import type { Metafile } from "esbuild"

/** Bundles `src/cli/main.ts` into `outdir/main.js` (and `outdir/chunks/`); returns esbuild's metafile. */
export declare const bundleCli: (outdir: string) => Promise<Metafile>
