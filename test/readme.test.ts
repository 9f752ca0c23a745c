/**
 * The README's TypeScript examples compile against the sources, so the front
 * door never shows code that has rotted. Each block is type-checked as a
 * virtual file, with `effect-voucherify` mapped onto src/.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "..")
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1])

describe("README", () => {
  it("has TypeScript examples", () => {
    expect(blocks.length).toBeGreaterThan(3)
  })

  it("every TypeScript example type-checks", () => {
    const configFile = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile)
    const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
    const options: ts.CompilerOptions = {
      ...parsed.options,
      noEmit: true,
      noUnusedLocals: false,
      baseUrl: root,
      paths: {
        "effect-voucherify": ["src/index.ts"],
        "effect-voucherify/testing": ["src/testing/index.ts"]
      }
    }
    const virtual = new Map(blocks.map((code, i) => [path.join(root, "test", `__readme_${i}.ts`), code]))
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
        return `README block ${block + 1}, line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    expect(problems).toEqual([])
  }, 120_000)
})
