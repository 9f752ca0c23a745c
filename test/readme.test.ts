/**
 * The TypeScript examples of the README and of every guide under docs/
 * compile against the sources, so the docs never show code that has rotted.
 * Each block is type-checked as a virtual file, with `effect-voucherify`
 * mapped onto src/; docs-run.test.ts runs the programs and the tests.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { blocks, guides, nameOf, packagePaths, root } from "./support/docBlocks.js"

describe("README and guides", () => {
  it("have TypeScript examples, and the README links every guide", () => {
    expect(blocks.filter((block) => block.document === "README.md").length).toBeGreaterThan(2)
    expect(guides.length).toBeGreaterThan(5)
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
    for (const guide of guides) expect(readme, guide).toContain(`](${guide})`)
  })

  it("every TypeScript example type-checks", () => {
    const configFile = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile)
    const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
    const options: ts.CompilerOptions = {
      ...parsed.options,
      noEmit: true,
      noUnusedLocals: false,
      baseUrl: root,
      paths: Object.fromEntries(Object.entries(packagePaths).map(([name, file]) => [name, [file]]))
    }
    const virtual = new Map(blocks.map(({ code }, i) => [path.join(root, "test", `__readme_${i}.ts`), code]))
    const host = ts.createCompilerHost(options)
    const { fileExists, readFile, getSourceFile } = host
    host.fileExists = (file) => virtual.has(file) || fileExists(file)
    host.readFile = (file) => virtual.get(file) ?? readFile(file)
    host.getSourceFile = (file, language, onError) =>
      virtual.has(file) ? ts.createSourceFile(file, virtual.get(file)!, language) : getSourceFile(file, language, onError)
    const program = ts.createProgram([...virtual.keys()], options, host)
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && virtual.has(d.file.fileName))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        const block = [...virtual.keys()].indexOf(d.file!.fileName)
        return `${nameOf(blocks[block]!)}, line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    expect(problems).toEqual([])
  }, 120_000)
})
