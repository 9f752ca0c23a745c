/**
 * The TypeScript blocks of the README and of every guide under docs/, each
 * with what it is: a program (it ends with the line that runs it), a test
 * (it imports `@effect/vitest`), or a fragment (a layer, an option) that is
 * only type-checked.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export const root = path.resolve(import.meta.dirname, "..", "..")

// docs/index.md is the API reference's front page, made by `npm run docs` (git ignores it)
export const guides = fs.readdirSync(path.join(root, "docs"))
  .filter((name) => name.endsWith(".md") && name !== "index.md")
  .map((name) => `docs/${name}`)

export type Kind = "program" | "test" | "fragment"

export interface Block {
  readonly document: string
  /** 1-based, among the document's TypeScript blocks. */
  readonly nth: number
  readonly code: string
  readonly kind: Kind
}

/** The calls that run a program. */
export const runs = /\b(?:NodeRuntime\.runMain|Effect\.run(?:Promise|Fork|Sync|PromiseExit))\b/

const kindOf = (code: string): Kind =>
  code.includes(`from "@effect/vitest"`) ? "test" : runs.test(code) ? "program" : "fragment"

export const blocks: ReadonlyArray<Block> = ["README.md", ...guides].flatMap((document) =>
  [...fs.readFileSync(path.join(root, document), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((match, i) => ({
    document,
    nth: i + 1,
    code: match[1]!,
    kind: kindOf(match[1]!)
  }))
)

export const nameOf = (block: Block) => `${block.document} block ${block.nth}`

/** `effect-voucherify` and its testing entry point, mapped onto src/ as the package maps them onto dist/. */
export const packagePaths = {
  "effect-voucherify": "src/index.ts",
  "effect-voucherify/testing": "src/testing/index.ts"
} as const
