/**
 * The published package, as a user gets it: build, `npm pack`, install the
 * tarball into a fresh project (from the local npm cache), type-check and run
 * a program against `effect-voucherify` and `effect-voucherify/testing` (as
 * an ES module, and with `require()` from CommonJS); and
 * in another fresh project, with the tarball alone, run the installed CLI
 * and its mock server.
 * Slow: it builds and installs for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)
/** Runs a command; a failure carries its output, which is what tells why. */
const run = (command: string, args: ReadonlyArray<string>, options: { readonly cwd: string }) =>
  execFileAsync(command, args, { ...options, maxBuffer: 16 * 1024 * 1024 }).catch((error) => {
    throw new Error(`${command} ${args.join(" ")} failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`)
  })
const repo = fileURLToPath(new URL("..", import.meta.url))
const installedVersion = (name: string): string =>
  JSON.parse(readFileSync(join(repo, "node_modules", name, "package.json"), "utf8")).version

/** The peers a user of the library installs next to the package, at the versions this repo tests with. */
const peers = ["effect", "@effect/platform", "@effect/platform-node", "@effect/sql"].map((name) =>
  `${name}@${installedVersion(name)}`
)

const program = `
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { BulkMetadata, BulkRun, Voucherify } from "effect-voucherify"
import { MockVoucherifyServer, VoucherifyTest } from "effect-voucherify/testing"

// The production wiring: config from the environment, the undici transport.
const Live = Voucherify.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))

const ids = ["p1", "p2", "p3"]
const update = BulkMetadata.run(ids, { target: "products", metadata: { season: "summer" }, await: true })

// Against a real loopback server, configured as the environment would, with OAuth tokens.
const overHttp = Effect.gen(function*() {
  const server = yield* MockVoucherifyServer.MockVoucherifyServer
  const env = ConfigProvider.fromMap(new Map([
    ["VOUCHERIFY_APP_ID", server.appId],
    ["VOUCHERIFY_APP_TOKEN", Redacted.value(server.appToken)],
    ["VOUCHERIFY_BASE_URL", server.baseUrl],
    ["VOUCHERIFY_OAUTH_SCOPES", "products async-actions"]
  ]))
  const report: BulkRun.Report = yield* update.pipe(Effect.provide(Live), Effect.withConfigProvider(env))
  const check = yield* server.checkMetadata("products", ids, { season: "summer" })
  return { status: report.status, accepted: report.accepted.items, checked: check.checked, missing: check.missing }
}).pipe(Effect.provide(MockVoucherifyServer.layer()))

// Against the in-memory double.
const inMemory = Effect.gen(function*() {
  const report = yield* update
  const state = yield* VoucherifyTest.VoucherifyTestState
  const records = yield* state.records("products")
  return { status: report.status, records: records.size }
}).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "10 millis" })))

Effect.runPromise(Effect.all({ overHttp, inMemory })).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
`

/**
 * The same job from CommonJS: `require` of both entry points (Node 20.19+
 * loads the package's ES modules), over HTTP against the mock server and in
 * memory.
 */
const commonJsProgram = `
const { ConfigProvider, Effect, Layer, Redacted } = require("effect")
const NodeHttpClient = require("@effect/platform-node/NodeHttpClient")
const { BulkMetadata, Voucherify } = require("effect-voucherify")
const { MockVoucherifyServer, VoucherifyTest } = require("effect-voucherify/testing")

const ids = ["p1", "p2", "p3"]
const update = BulkMetadata.run(ids, { target: "products", metadata: { season: "summer" }, awaitCompletion: true })
const Live = Voucherify.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))

const overHttp = Effect.gen(function*() {
  const server = yield* MockVoucherifyServer.MockVoucherifyServer
  const env = ConfigProvider.fromMap(new Map([
    ["VOUCHERIFY_APP_ID", server.appId],
    ["VOUCHERIFY_APP_TOKEN", Redacted.value(server.appToken)],
    ["VOUCHERIFY_BASE_URL", server.baseUrl]
  ]))
  const report = yield* update.pipe(Effect.provide(Live), Effect.withConfigProvider(env))
  const check = yield* server.checkMetadata("products", ids, { season: "summer" })
  return { status: report.status, checked: check.checked, missing: check.missing }
}).pipe(Effect.provide(MockVoucherifyServer.layer()))

const inMemory = Effect.gen(function*() {
  const report = yield* update
  const state = yield* VoucherifyTest.VoucherifyTestState
  return { status: report.status, records: (yield* state.records("products")).size }
}).pipe(Effect.provide(VoucherifyTest.layer({ processingDelay: "10 millis" })))

Effect.runPromise(Effect.all({ overHttp, inMemory })).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
`

/** Every module a bundled file imports or requires, by its specifier. */
const importedSpecifiers = (code: string): Array<string> =>
  Array.from(
    code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s*)"([\w@.:/-]+)"/gm),
    (match) => match[1]!
  )

describe("the packed package", () => {
  let work = ""
  /** A project with the library's peers installed beside the package. */
  let project = ""
  /** A project with the package alone, as `npm i effect-voucherify` leaves it for the CLI. */
  let cliProject = ""
  let packed: { filename: string; files: Array<{ path: string }> }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "effect-voucherify-pack-"))
    project = join(work, "consumer")
    cliProject = join(work, "cli-user")
    await run("npm", ["run", "build"], { cwd: repo })
    const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: repo })
    packed = JSON.parse(stdout)[0]
    const install = (cwd: string, packages: ReadonlyArray<string>) => {
      mkdirSync(cwd)
      writeFileSync(join(cwd, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
      const npmInstall = (mode: string) =>
        run("npm", ["install", mode, "--no-audit", "--no-fund", join(work, packed.filename), ...packages], { cwd })
      // A cache filled by `npm ci` holds the tarballs but not always the
      // registry metadata that resolving names needs: then ask the registry.
      return npmInstall("--offline").catch(() => npmInstall("--prefer-offline"))
    }
    await install(project, peers)
    await install(cliProject, [])
  }, 600_000)

  afterAll(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true })
  })

  it("ships the built modules, their maps and sources, the changelog, and nothing test-only", () => {
    const paths = packed.files.map((file) => file.path)
    expect(paths).toEqual(expect.arrayContaining([
      "package.json",
      "CHANGELOG.md",
      "dist/index.js",
      "dist/index.js.map",
      "dist/index.d.ts",
      "dist/index.d.ts.map",
      "dist/testing/index.js",
      "dist/testing/index.d.ts",
      "dist/cli/main.js",
      "src/index.ts",
      "src/BulkMetadata.ts"
    ]))
    // every map of a module points at sources the package has
    const maps = paths.filter((path) => path.endsWith(".map"))
    expect(maps.length).toBeGreaterThan(10)
    const installed = join(project, "node_modules", "effect-voucherify")
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), "utf8")) as { sources: Array<string> }
      for (const source of sources) expect(paths, `${map}: ${source}`).toContain(relative(installed, join(installed, dirname(map), source)))
    }
    // the CLI's sources are not shipped: it is bundled
    expect(paths.filter((path) => /^src\/(cli|testing\/bin)\//.test(path))).toEqual([])
    // the CLI is bundled: none of its sources ships as a module of its own (its entries: the program, the
    // sync state's hashing worker and its writer)
    expect(paths.filter((path) => path.startsWith("dist/cli/") && !/^dist\/cli\/(main|hashWorker|stateWriter|chunks\/[\w-]+)\.js$/.test(path)))
      .toEqual([])
    expect(paths).toContain("dist/cli/hashWorker.js")
    expect(paths).toContain("dist/cli/stateWriter.js")
    const unexpected = paths.filter((path) =>
      !path.startsWith("dist/") && !path.startsWith("src/") && !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(path)
    )
    expect(unexpected).toEqual([])
    expect(paths.filter((path) => /\.test\.|(^|\/)(test|bench|demo)\//.test(path))).toEqual([])
  })

  it("keeps the main entry point free of the optional peers", () => {
    const dist = join(project, "node_modules", "effect-voucherify", "dist")
    const mainModules = packed.files
      .map((file) => file.path)
      .filter((path) => path.endsWith(".js") && !/^dist\/(cli|testing)\//.test(path))
    expect(mainModules.length).toBeGreaterThan(5)
    for (const path of mainModules) {
      const text = readFileSync(join(dist, path.slice("dist/".length)), "utf8")
      // imports only: the JSDoc examples kept in the output do name NodeHttpClient
      expect(text, path).not.toMatch(/^(import|export)\b[^\n]*from "@effect\/(platform-node|cli)|import\("@effect\/(platform-node|cli)/m)
    }
  })

  it("type-checks and runs a program that uses the published entry points", async () => {
    writeFileSync(join(project, "main.ts"), program)
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022"],
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: true,
          outDir: "out",
          // the consumer has no @types/node of its own: lend it this repo's
          typeRoots: [join(repo, "node_modules", "@types")],
          types: ["node"]
        },
        files: ["main.ts"]
      })
    )
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc")
    await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project })
    const { stdout } = await run(process.execPath, ["out/main.js"], { cwd: project })
    expect(JSON.parse(stdout)).toEqual({
      overHttp: { status: "completed", accepted: 3, checked: 3, missing: 0 },
      inMemory: { status: "completed", records: 3 }
    })
  }, 300_000)

  it("loads with require() from a CommonJS program", async () => {
    writeFileSync(join(project, "main.cjs"), commonJsProgram)
    const { stdout } = await run(process.execPath, ["main.cjs"], { cwd: project })
    expect(JSON.parse(stdout)).toEqual({
      overHttp: { status: "completed", checked: 3, missing: 0 },
      inMemory: { status: "completed", records: 3 }
    })
    const manifest = JSON.parse(readFileSync(join(project, "node_modules", "effect-voucherify", "package.json"), "utf8"))
    expect(manifest.repository.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/)
    expect(manifest.bugs.url).toMatch(/^https:\/\/github\.com\/.+\/issues$/)
  }, 120_000)

  it("ships the CLI as a bundle that imports nothing but Node's own modules, its chunks, and (the state's chunk and writer) the SQLite driver", () => {
    const cli = join(cliProject, "node_modules", "effect-voucherify", "dist", "cli")
    expect(statSync(join(cli, "main.js")).mode & 0o111).not.toBe(0)
    const files = readdirSync(cli, { recursive: true, encoding: "utf8" }).filter((path) => path.endsWith(".js"))
    expect(files.length).toBeGreaterThan(1)
    const outside = files.flatMap((path) =>
      importedSpecifiers(readFileSync(join(cli, path), "utf8"))
        .filter((specifier) => !specifier.startsWith("./") && !specifier.startsWith("../"))
        .filter((specifier) => !specifier.startsWith("node:") && !builtinModules.includes(specifier.split("/")[0]!))
        .map((specifier) => `${relative(cli, join(cli, path))}: ${specifier}`)
    )
    // libsql, a dependency of the package (a prebuilt binary), loaded by --state alone: by its chunk, and by
    // the thread that writes the state
    expect(outside.map((line) => line.replace(/-[A-Z0-9]{8}\.js/, ".js")).sort()).toEqual([
      "chunks/StateDatabase.js: libsql",
      "stateWriter.js: libsql"
    ])
  })

  it("runs the CLI with npx where nothing else was installed", async () => {
    // `--no`: the installed bin or nothing, never a download from the registry
    const npx = (args: ReadonlyArray<string>) =>
      run("npx", ["--no", "--", "effect-voucherify", ...args], { cwd: cliProject })
    const help = await npx(["--help"])
    expect(help.stdout).toContain("products-metadata")
    const version = await npx(["--version"])
    expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version}\n`)
    writeFileSync(join(cliProject, "ids.txt"), Array.from({ length: 1000 }, (_, i) => `prod_${i}`).join("\n"))
    const mock = await npx(["products-metadata", "--ids", "ids.txt", "--metadata", "{\"season\":\"summer\"}", "--mock", "--await", "--quiet"])
    expect(mock.stdout).toMatch(/^accepted +1,000 ids in 1 chunk$/m)
    expect(mock.stdout).toMatch(/^results +1,000 done, 0 failed$/m)
    // --state loads the SQLite driver the package installed: the second run sends nothing
    const state = ["products-metadata", "--ids", "ids.txt", "--metadata", "{\"season\":\"summer\"}", "--mock", "--quiet", "--state", "s.db"]
    expect((await npx(state)).stdout).toMatch(/^accepted +1,000 ids in 1 chunk$/m)
    expect((await npx(state)).stdout).toMatch(/^unchanged +1,000 ids/m)
    // per record, a first fill hashes in the bundle's hashing worker: the second run knows every record
    writeFileSync(
      join(cliProject, "records.ndjson"),
      Array.from({ length: 1000 }, (_, i) => JSON.stringify({ source_id: `prod_${i}`, name: `P ${i}`, price: i })).join("\n")
    )
    const records = ["products-update", "--records", "records.ndjson", "--mock", "--quiet", "--state", "r.db"]
    expect((await npx(records)).stdout).toMatch(/^accepted +1,000 records in 1 chunk$/m)
    expect((await npx(records)).stdout).toMatch(/^unchanged +1,000 records/m)
  }, 120_000)

  it("runs the mock server from the installed bin, with the options of npm run mock-server", async () => {
    const bin = join(cliProject, "node_modules", ".bin", "effect-voucherify")
    const help = await run(bin, ["mock-server", "--help"], { cwd: cliProject })
    for (const flag of ["--port <n>", "--processing-delay <ms>", "--bulk-quota <calls/seconds>", "--faults <json>", "--json"]) {
      expect(help.stdout).toContain(`  ${flag}`)
    }
    const server = spawn(bin, ["mock-server", "--port", "0", "--processing-delay", "5", "--json"], {
      cwd: cliProject,
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const [line] = await once(createInterface({ input: server.stdout }), "line")
      const printed = JSON.parse(line as string)
      expect(printed).toEqual({
        baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        appId: "mock-app-id",
        appToken: "mock-app-token"
      })
      // the installed CLI against it
      writeFileSync(join(cliProject, "few.txt"), "p1\np2\n")
      const updated = await run(bin, [
        "products-metadata", "--ids", "few.txt", "--metadata", "{\"a\":1}", "--await", "--quiet",
        "--base-url", printed.baseUrl, "--app-id", printed.appId, "--app-token", printed.appToken
      ], { cwd: cliProject })
      expect(updated.stdout).toMatch(/^results +2 done, 0 failed$/m)
    } finally {
      const exited = once(server, "exit")
      server.kill("SIGINT")
      const [code] = await exited
      expect(code).toBe(130)
    }
  }, 120_000)
})
