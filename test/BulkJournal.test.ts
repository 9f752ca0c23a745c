import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { execFile, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as BulkJournal from "../src/BulkJournal.js"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as Format from "../src/internal/journal/format.js"
import * as Ledger from "../src/internal/journal/ledger.js"
import * as Plan from "../src/internal/journal/plan.js"
import type { JournalWriter } from "../src/internal/journal/writer.js"
import { VoucherifyTest } from "../src/testing/index.js"
import { isProcessAlive } from "../src/internal/journal/lock.js"
import { BadRequestError, ServerError } from "../src/VoucherifyError.js"
import type { Metadata } from "../src/VoucherifySchema.js"

const execFileAsync = promisify(execFile)
const repo = fileURLToPath(new URL("..", import.meta.url))

/** A run as the engine would describe it. */
const run: Format.Run = {
  target: "products",
  field: "source_ids",
  metadataSha256: "a".repeat(64),
  maxBytes: 1000,
  input: { kind: "file", path: "/data/ids.txt", size: 4321, mtimeMs: 1764580000000 }
}

/** Chunk `index` of a run whose chunks hold 10 ids each. */
const chunk = (index: number, sha256 = index.toString(16).padStart(64, "0")): Format.ChunkFacts => ({
  index,
  offset: index * 10,
  count: 10,
  bytes: 500 + index,
  sha256
})

/** The outcome of a chunk Voucherify accepted as action `asyncActionId`. */
const acceptedAs = (asyncActionId: string) => ({ _tag: "Accepted", asyncActionId }) as const

const linesOf = (text: string) => text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as { type: string })

/** A journal in a fresh temporary directory, and its path. */
const tempJournal = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "bulk-journal-" })
  return { fs, path: `${dir}/run.journal` }
})

/** Starts a run in `path` and records a bit of everything, then closes the journal. */
const recordSome = (path: string, description = run) =>
  Effect.scoped(Effect.gen(function*() {
    const journal = yield* BulkJournal.file(path)
    const writer = yield* journal.start(description)
    for (const i of [0, 1, 2, 3, 4]) yield* writer.sending(chunk(i))
    yield* writer.settled(chunk(0), acceptedAs("aa_0"))
    yield* writer.settled(chunk(1), acceptedAs("aa_1"))
    yield* writer.settled(chunk(2), { _tag: "Rejected", error: new BadRequestError({ status: 400, key: "invalid_payload" }) })
    yield* writer.settled(chunk(3), { _tag: "Unknown", error: new ServerError({ status: 502 }) })
    yield* writer.finished({ index: 0, asyncActionId: "aa_0", status: "DONE" })
    return writer.header
  }))

/** Resumes the journal at `path`, and closes it. */
const resumeAt = (path: string, description = run) =>
  Effect.scoped(Effect.flatMap(BulkJournal.file(path), (journal) => journal.resume(description)))

/** Opens the journal at `path` in another Node process: "opened", or the error's message. */
const openInChild = (path: string) =>
  Effect.promise(() =>
    execFileAsync(process.execPath, [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
       import { Effect } from "effect"
       import * as BulkJournal from "./src/BulkJournal.ts"
       const open = Effect.scoped(BulkJournal.file(process.argv[1])).pipe(
         Effect.match({ onSuccess: () => "opened", onFailure: (error) => error.message }),
         Effect.provide(NodeFileSystem.layer)
       )
       Effect.runPromise(open).then((result) => process.stdout.write(result))`,
      path
    ], { cwd: repo })
  ).pipe(Effect.map(({ stdout }) => stdout))

layer(NodeFileSystem.layer)("BulkJournal on a file system", (it) => {
  it.scoped("records a run as JSON lines and reads it back into a plan", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      const described = yield* Ledger.describeRun({
        target: "products",
        field: "source_ids",
        metadataJson: JSON.stringify({ season: "summer", note: "s3cr3t-looking value" }),
        maxBytes: 1000,
        input: run.input
      })
      const header = yield* recordSome(path, described)
      const text = yield* fs.readFileString(path)
      expect(text.endsWith("\n")).toBe(true)
      expect(linesOf(text).map((line) => line.type)).toEqual([
        "run",
        ...Array(5).fill("chunk_sent"),
        "chunk_accepted",
        "chunk_accepted",
        "chunk_rejected",
        "chunk_unknown",
        "action_finished"
      ])
      // the hash of the metadata, never its values
      expect(text).not.toContain("s3cr3t")
      expect(text).toContain(described.metadataSha256)

      const { plan } = yield* resumeAt(path, described)
      expect(plan.header).toEqual(header)
      expect(plan.header.version).toBe(Format.formatVersion)
      // chunks 2 (rejected), 3 (unknown) and 4 (in flight) are not held: a resume sends them again
      expect([...plan.accepted.entries()]).toEqual([
        [0, { ...chunk(0), asyncActionId: "aa_0", finalStatus: "DONE" }],
        [1, { ...chunk(1), asyncActionId: "aa_1" }]
      ])
      // nothing was torn, so nothing cut: the resume's line follows the whole journal
      const after = yield* fs.readFileString(path)
      expect(after.startsWith(text)).toBe(true)
      expect(linesOf(after.slice(text.length))).toMatchObject([{ type: "resumed", chunksAccepted: 2 }])
    }))

  it.scoped("decodes the errors it recorded", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      yield* recordSome(path)
      const [rejected] = linesOf(yield* fs.readFileString(path)).filter((line) => line.type === "chunk_rejected")
      const decoded = yield* Schema.decodeUnknown(Format.JournalEvent)(rejected)
      expect(decoded.type === "chunk_rejected" && decoded.error).toEqual(
        new BadRequestError({ status: 400, key: "invalid_payload" })
      )
    }))

  it.scoped("a run killed with SIGKILL leaves its accepted chunks and its lock, which a resume takes over", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      const child = spawn(process.execPath, [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
         import { Effect } from "effect"
         import * as BulkJournal from "./src/BulkJournal.ts"
         const run = ${JSON.stringify(run)}
         const chunk = (index) => ({ ...${JSON.stringify(chunk(0))}, index })
         Effect.gen(function*() {
           const writer = yield* Effect.flatMap(BulkJournal.file(process.argv[1]), (journal) => journal.start(run))
           for (const index of [0, 1, 2]) yield* writer.settled(chunk(index), { _tag: "Accepted", asyncActionId: "aa_" + index })
           yield* writer.sending(chunk(3))
           process.stdout.write("accepted")
           yield* Effect.never
         }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer), Effect.runPromise)`,
        path
      ], { cwd: repo, stdio: ["ignore", "pipe", "inherit"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      yield* Effect.async<void>((resume) => {
        child.stdout!.on("data", () => resume(Effect.void))
      })
      const killed = Effect.async<void>((resume) => {
        child.on("exit", () => resume(Effect.void))
      })
      child.kill("SIGKILL")
      yield* killed
      expect(JSON.parse(yield* fs.readFileString(`${path}.lock`)).pid).toBe(child.pid)
      const { plan } = yield* Effect.flatMap(BulkJournal.file(path), (journal) => journal.resume(run))
      // chunk 3 was in flight: not held, so sent again
      expect([...plan.accepted.keys()]).toEqual([0, 1, 2])
      expect(linesOf(yield* fs.readFileString(path)).at(-1)).toMatchObject({ type: "resumed", chunksAccepted: 3 })
      expect(JSON.parse(yield* fs.readFileString(`${path}.lock`)).pid).toBe(process.pid)
    }))

  it.scoped("resumes by appending to the same journal, under the same lock", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      const header = yield* recordSome(path)
      yield* Effect.scoped(Effect.gen(function*() {
        const journal = yield* BulkJournal.file(path)
        const { plan, writer } = yield* journal.resume(run)
        expect([...plan.accepted.keys()]).toEqual([0, 1])
        expect(writer.header).toEqual(header)
        const refused = yield* Effect.flip(Effect.scoped(BulkJournal.file(path)))
        expect(refused._tag).toBe("JournalLockedError")
        yield* writer.settled(chunk(2), acceptedAs("aa_2"))
      }))
      const lines = linesOf(yield* fs.readFileString(path))
      expect(lines).toHaveLength(13)
      expect(lines.slice(-2)).toMatchObject([{ type: "resumed", chunksAccepted: 2 }, {
        type: "chunk_accepted",
        index: 2
      }])
      // the next resume holds the chunk accepted after the first
      const { plan } = yield* resumeAt(path)
      expect([...plan.accepted.keys()]).toEqual([0, 1, 2])
    }))

  it.scoped("ignores a torn last line, and a resume cuts it off before appending", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      yield* recordSome(path)
      const whole = yield* fs.readFileString(path)
      yield* fs.writeFileString(path, `{"type":"chunk_accepted","at":"2026-12-01T10:0`, { flag: "a" })

      const { plan } = yield* resumeAt(path)
      expect([...plan.accepted.keys()]).toEqual([0, 1])
      const after = yield* fs.readFileString(path)
      expect(after.startsWith(whole)).toBe(true)
      expect(linesOf(after.slice(whole.length)).map((line) => line.type)).toEqual(["resumed"])
      // nothing torn is left: the next resume cuts nothing
      yield* resumeAt(path)
      const again = yield* fs.readFileString(path)
      expect(again.startsWith(after)).toBe(true)
      expect(linesOf(again.slice(after.length)).map((line) => line.type)).toEqual(["resumed"])
    }))

  it.scoped("ignores a complete last line that is not JSON (zeros after a power cut, a cut line)", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      yield* recordSome(path)
      const whole = yield* fs.readFileString(path)
      for (const tail of ["\0\0\0\0\n", `{"type":"chunk_acc\n`, "\n"]) {
        yield* fs.writeFileString(path, whole + tail)
        const { plan } = yield* resumeAt(path)
        expect(plan.accepted.size, JSON.stringify(tail)).toBe(2)
        // the resume cut the line, and wrote its own after the whole journal
        const after = yield* fs.readFileString(path)
        expect(after.startsWith(whole), JSON.stringify(tail)).toBe(true)
        expect(linesOf(after.slice(whole.length)).map((line) => line.type)).toEqual(["resumed"])
      }
    }))

  it.scoped("fails on a malformed line elsewhere, naming the line", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      yield* recordSome(path)
      const lines = (yield* fs.readFileString(path)).split("\n")
      const cases: ReadonlyArray<readonly [string, number, string]> = [
        ["{not json", 3, "not JSON"],
        ["", 3, "an empty line"],
        [`{"type":"chunk_accepted","at":"2026-12-01T10:00:00.000Z","index":1}`, 3, "not a journal event: offset: is missing"],
        [`{"type":"chunk_lost","at":"2026-12-01T10:00:00.000Z"}`, 3, "not a journal event: type:"]
      ]
      for (const [bad, line, reason] of cases) {
        const corrupt = [...lines.slice(0, line - 1), bad, ...lines.slice(line - 1)].join("\n")
        yield* fs.writeFileString(path, corrupt)
        const error = yield* Effect.flip(resumeAt(path))
        expect(error).toBeInstanceOf(BulkJournal.JournalCorruptError)
        expect(error).toMatchObject({ path, line })
        expect(error.message).toContain(`${path} is corrupt at line ${line}: ${reason}`)
        // and the refused resume left the journal as it was
        expect(yield* fs.readFileString(path)).toBe(corrupt)
      }
      // valid JSON that is no event, even last, is no torn write
      yield* fs.writeFileString(path, [...lines.slice(0, -1), `{"type":"resumed"}`, ""].join("\n"))
      expect(yield* Effect.flip(resumeAt(path))).toMatchObject({
        _tag: "JournalCorruptError",
        line: 12
      })
    }))

  it.scoped("refuses a run that is not the journal's, saying which field changed from what to what", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      yield* recordSome(path)
      const text = yield* fs.readFileString(path)
      const file = run.input as Extract<BulkJournal.InputDescription, { kind: "file" }>
      const changes: ReadonlyArray<readonly [Format.Run, string, string, string]> = [
        [{ ...run, target: "customers" }, "target", "products", "customers"],
        [{ ...run, target: "vouchers", field: "codes" }, "target", "products", "vouchers"],
        [{ ...run, field: "codes" }, "field", "source_ids", "codes"],
        [{ ...run, metadataSha256: "b".repeat(64) }, "metadataSha256", "a".repeat(64), "b".repeat(64)],
        [{ ...run, maxBytes: 2000 }, "maxBytes", "1000", "2000"],
        [{ ...run, input: { kind: "stdin" } }, "input.kind", "file", "stdin"],
        [{ ...run, input: { ...file, path: "/data/other.txt" } }, "input.path", "/data/ids.txt", "/data/other.txt"],
        [{ ...run, input: { ...file, size: 4322 } }, "input.size", "4321", "4322"],
        [{ ...run, input: { ...file, mtimeMs: 1764580000001 } }, "input.mtimeMs", "1764580000000", "1764580000001"]
      ]
      for (const [other, field, journal, now] of changes) {
        const error = yield* Effect.flip(resumeAt(path, other))
        expect(error).toBeInstanceOf(BulkJournal.JournalMismatchError)
        expect(error).toMatchObject({ path, field, journal, run: now })
        expect(error.message).toContain(`its ${field} is ${journal}, this run's is ${now}`)
      }
      // and a resume changes nothing before it refuses
      expect(yield* fs.readFileString(path)).toBe(text)
    }))

  it.scoped("start refuses an existing journal; resume of a missing one fails with NotFound", () =>
    Effect.gen(function*() {
      const { path } = yield* tempJournal
      yield* recordSome(path)
      const exists = yield* Effect.flip(Effect.scoped(Effect.flatMap(BulkJournal.file(path), (j) => j.start(run))))
      expect(exists).toEqual(new BulkJournal.JournalExistsError({ path }))
      const missing = yield* Effect.flip(
        Effect.scoped(Effect.flatMap(BulkJournal.file(`${path}.missing`), (j) => j.resume(run)))
      )
      expect(missing).toMatchObject({ _tag: "JournalIoError", operation: "read", reason: "NotFound" })
      expect(missing.message).toContain(`cannot read the journal ${path}.missing`)
    }))

  it.scoped("resumes an empty journal (the run died before its header) as a new run", () =>
    Effect.gen(function*() {
      const { fs, path } = yield* tempJournal
      yield* fs.writeFileString(path, `{"type":"run","at":"2026-12`)
      const { plan, writer } = yield* Effect.scoped(Effect.flatMap(BulkJournal.file(path), (j) => j.resume(run)))
      expect(plan.header).toEqual(writer.header)
      expect(plan.accepted.size).toBe(0)
      // the torn header is cut, this run's written in its place
      const lines = linesOf(yield* fs.readFileString(path))
      expect(lines).toMatchObject([{ type: "run", runId: writer.header.runId, maxBytes: 1000 }])
    }))

  describe("the lock", () => {
    it.scoped("refuses a second open while the first is open, naming the journal; frees it when the scope closes", () =>
      Effect.gen(function*() {
        const { fs, path } = yield* tempJournal
        yield* Effect.scoped(Effect.gen(function*() {
          yield* BulkJournal.file(path)
          expect(JSON.parse(yield* fs.readFileString(`${path}.lock`)).pid).toBe(process.pid)
          const error = yield* Effect.flip(Effect.scoped(BulkJournal.file(path)))
          expect(error).toEqual(new BulkJournal.JournalLockedError({ path, lockPath: `${path}.lock`, pid: process.pid }))
          expect(error.message).toContain(`the journal ${path} is in use by process ${process.pid}`)
        }))
        expect(yield* fs.exists(`${path}.lock`)).toBe(false)
        yield* Effect.scoped(BulkJournal.file(path))
      }))

    it.scoped("refuses another process while this one holds the journal", () =>
      Effect.gen(function*() {
        const { path } = yield* tempJournal
        const other = yield* Effect.scoped(Effect.zipRight(BulkJournal.file(path), openInChild(path)))
        expect(other).toBe(`the journal ${path} is in use by process ${process.pid} (lock file ${path}.lock); ` +
          `if that process is not a run on this journal, remove ${path}.lock`)
        expect(yield* openInChild(path)).toBe("opened")
      }))

    it.scoped("takes over a lock whose process no longer runs", () =>
      Effect.gen(function*() {
        const { fs, path } = yield* tempJournal
        const gone = spawnSync(process.execPath, ["-e", ""]).pid
        expect(isProcessAlive(gone)).toBe(false)
        yield* fs.writeFileString(`${path}.lock`, JSON.stringify({ pid: gone }))
        yield* Effect.scoped(Effect.gen(function*() {
          const journal = yield* BulkJournal.file(path)
          yield* journal.start(run)
          expect(JSON.parse(yield* fs.readFileString(`${path}.lock`)).pid).toBe(process.pid)
        }))
        expect(yield* fs.exists(`${path}.lock`)).toBe(false)
      }))

    it.scoped("refuses a lock held by another live process", () =>
      Effect.gen(function*() {
        const { fs, path } = yield* tempJournal
        const other = yield* Effect.acquireRelease(
          Effect.sync(() => spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        const pid = other.pid!
        expect(isProcessAlive(pid)).toBe(true)
        yield* fs.writeFileString(`${path}.lock`, JSON.stringify({ pid }))
        expect(yield* Effect.flip(Effect.scoped(BulkJournal.file(path)))).toMatchObject({
          _tag: "JournalLockedError",
          pid
        })
        // the refused open left the other process's lock alone
        expect(yield* fs.readFileString(`${path}.lock`)).toBe(JSON.stringify({ pid }))
      }))

    it.scoped("refuses a lock that names no process (being written, or damaged)", () =>
      Effect.gen(function*() {
        const { fs, path } = yield* tempJournal
        yield* fs.writeFileString(`${path}.lock`, "")
        const error = yield* Effect.flip(Effect.scoped(BulkJournal.file(path)))
        expect(error).toEqual(new BulkJournal.JournalLockedError({ path, lockPath: `${path}.lock` }))
        expect(error.message).toContain(`remove ${path}.lock`)
      }))
  })
})

// ---------------------------------------------------------------------------
// Durability, with a FileSystem double that records what reaches the file

interface Hold {
  readonly at: "sync" | "write"
  readonly gate: Deferred.Deferred<void>
  readonly started: Deferred.Deferred<void>
}

interface Double {
  readonly log: Array<string>
  /** While set, `sync` (or `writeAll`) waits for it, after saying so in `started`. */
  hold: Hold | undefined
  /** While set, `writeAll` fails with it. */
  fail: SystemError | undefined
}

const typeOf = (bytes: Uint8Array) => (JSON.parse(new TextDecoder().decode(bytes)) as { type: string }).type

const doubleFileSystem = (double: Double) => {
  const wait = (at: "sync" | "write") =>
    Effect.suspend(() => {
      const hold = double.hold
      return hold?.at === at
        ? Effect.zipRight(Deferred.succeed(hold.started, undefined), Deferred.await(hold.gate))
        : Effect.void
    })
  const file: FileSystem.File = {
    [FileSystem.FileTypeId]: FileSystem.FileTypeId,
    fd: FileSystem.FileDescriptor(3),
    stat: Effect.die("not used"),
    seek: () => Effect.die("not used"),
    read: () => Effect.die("not used"),
    readAlloc: () => Effect.die("not used"),
    truncate: () => Effect.die("not used"),
    write: () => Effect.die("not used"),
    writeAll: (bytes) =>
      Effect.suspend(() => {
        if (double.fail !== undefined) return Effect.fail(double.fail)
        double.log.push(`write ${typeOf(bytes)}`)
        return Effect.zipRight(wait("write"), Effect.sync(() => double.log.push(`written ${typeOf(bytes)}`)))
      }),
    sync: Effect.zipRight(
      Effect.sync(() => double.log.push("sync")),
      Effect.zipRight(wait("sync"), Effect.sync(() => double.log.push("synced")))
    )
  }
  return Layer.succeed(
    FileSystem.FileSystem,
    FileSystem.makeNoop({
      writeFile: () => Effect.void,
      link: () => Effect.void,
      remove: () => Effect.void,
      open: () => Effect.succeed(file)
    })
  )
}

const withDouble = <A, E>(body: (double: Double, writer: JournalWriter) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const double: Double = { log: [], hold: undefined, fail: undefined }
    return yield* Effect.gen(function*() {
      const journal = yield* BulkJournal.file("/journal")
      const writer = yield* journal.start(run)
      double.log.length = 0
      return yield* body(double, writer)
    }).pipe(Effect.scoped, Effect.provide(doubleFileSystem(double)))
  })

const holding = (double: Double, at: "sync" | "write") =>
  Effect.gen(function*() {
    const hold = { at, gate: yield* Deferred.make<void>(), started: yield* Deferred.make<void>() }
    double.hold = hold
    return hold
  })

describe("BulkJournal durability", () => {
  it.effect("the header is synced when start returns", () =>
    Effect.gen(function*() {
      const double: Double = { log: [], hold: undefined, fail: undefined }
      yield* Effect.scoped(Effect.flatMap(BulkJournal.file("/journal"), (j) => j.start(run))).pipe(
        Effect.provide(doubleFileSystem(double))
      )
      expect(double.log).toEqual(["write run", "written run", "sync", "synced"])
    }))

  it.effect("an acceptance returns only once its line is synced; the other events are not synced", () =>
    withDouble((double, writer) =>
      Effect.gen(function*() {
        yield* writer.sending(chunk(0))
        const hold = yield* holding(double, "sync")
        const accepted = yield* Effect.fork(writer.settled(chunk(0), acceptedAs("aa_0")))
        yield* Deferred.await(hold.started)
        // the line is written and the sync under way: not yet accepted
        expect(Option.isNone(yield* Fiber.poll(accepted))).toBe(true)
        expect(double.log).toEqual([
          "write chunk_sent",
          "written chunk_sent",
          "write chunk_accepted",
          "written chunk_accepted",
          "sync"
        ])
        yield* Deferred.succeed(hold.gate, undefined)
        yield* Fiber.join(accepted)
        expect(double.log.at(-1)).toBe("synced")
        double.hold = undefined
        yield* writer.settled(chunk(1), { _tag: "Rejected", error: new BadRequestError({ status: 400 }) })
        yield* writer.settled(chunk(2), { _tag: "Unknown", error: new ServerError({ status: 502 }) })
        yield* writer.finished({ index: 0, asyncActionId: "aa_0", status: "FAILED" })
        expect(double.log.slice(6)).toEqual([
          "write chunk_rejected",
          "written chunk_rejected",
          "write chunk_unknown",
          "written chunk_unknown",
          "write action_finished",
          "written action_finished"
        ])
      })
    ))

  it.effect("an interruption waits for the line being written and its sync", () =>
    withDouble((double, writer) =>
      Effect.gen(function*() {
        const hold = yield* holding(double, "write")
        const accepted = yield* Effect.fork(writer.settled(chunk(0), acceptedAs("aa_0")))
        yield* Deferred.await(hold.started)
        const interrupting = yield* Effect.fork(Fiber.interrupt(accepted))
        yield* Effect.yieldNow()
        expect(Option.isNone(yield* Fiber.poll(interrupting))).toBe(true)
        yield* Deferred.succeed(hold.gate, undefined)
        const exit = yield* Fiber.join(interrupting)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(double.log).toEqual(["write chunk_accepted", "written chunk_accepted", "sync", "synced"])
      })
    ))

  it.effect("lines are written one at a time, in call order", () =>
    withDouble((double, writer) =>
      Effect.gen(function*() {
        const hold = yield* holding(double, "sync")
        const first = yield* Effect.fork(writer.settled(chunk(0), acceptedAs("aa_0")))
        yield* Deferred.await(hold.started)
        double.hold = undefined
        const second = yield* Effect.fork(writer.sending(chunk(1)))
        yield* Effect.yieldNow()
        // the second line waits for the first write and its sync
        expect(double.log).toEqual(["write chunk_accepted", "written chunk_accepted", "sync"])
        yield* Deferred.succeed(hold.gate, undefined)
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        expect(double.log.slice(3)).toEqual(["synced", "write chunk_sent", "written chunk_sent"])
      })
    ))

  it.effect("after a failed write, every later write fails without touching the file", () =>
    withDouble((double, writer) =>
      Effect.gen(function*() {
        double.fail = new SystemError({ module: "FileSystem", method: "writeAll", reason: "Unknown", description: "EIO" })
        const error = yield* Effect.flip(writer.settled(chunk(0), acceptedAs("aa_0")))
        expect(error).toMatchObject({ _tag: "JournalIoError", path: "/journal", operation: "write", reason: "Unknown" })
        double.fail = undefined
        expect(yield* Effect.flip(writer.sending(chunk(1)))).toBe(error)
        expect(double.log).toEqual([])
      })
    ))
})

// ---------------------------------------------------------------------------

describe("BulkJournal in memory", () => {
  it.effect("writes the same lines, and resumes from them", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      const writer = yield* journal.start(run)
      yield* writer.settled(chunk(0), acceptedAs("aa_0"))
      yield* writer.settled(chunk(1), { _tag: "Unknown", error: new ServerError({ status: 502 }) })
      const text = yield* journal.text
      expect(linesOf(text)).toMatchObject([
        { type: "run", at: "1970-01-01T00:00:00.000Z", version: 1, ...run },
        { type: "chunk_accepted", ...chunk(0), asyncActionId: "aa_0" },
        { type: "chunk_unknown", ...chunk(1) }
      ])
      expect(yield* Effect.flip(journal.start(run))).toEqual(new BulkJournal.JournalExistsError({ path: "memory" }))

      const again = yield* BulkJournal.memory(`${text}{"type":"chunk_sent","in`)
      const { plan } = yield* again.resume(run)
      expect([...plan.accepted.keys()]).toEqual([0])
      // the torn line is cut before the resume's own
      expect(yield* again.text).toBe(`${text}{"type":"resumed","at":"1970-01-01T00:00:00.000Z","chunksAccepted":1}\n`)
    }))

  it.effect("resume of a journal that does not exist fails with NotFound", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      expect(yield* Effect.flip(journal.resume(run))).toMatchObject({ _tag: "JournalIoError", reason: "NotFound" })
    }))

  it.effect("refuses a journal whose events do not hold together, naming the line", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      const writer = yield* journal.start(run)
      yield* writer.settled(chunk(0), acceptedAs("aa_0"))
      const text = yield* journal.text
      const [runLine, acceptedLine] = text.split("\n")
      const cases: ReadonlyArray<readonly [string, number, string]> = [
        [`${acceptedLine}\n`, 1, `the first line must be the "run" event, not "chunk_accepted"`],
        [`${text}${runLine}\n`, 3, `a second "run" event`],
        [
          `${text}${acceptedLine.replace(chunk(0).sha256, "f".repeat(64))}\n`,
          3,
          "chunk 0 was accepted on line 2 with another body"
        ],
        [
          `${text}{"type":"action_finished","at":"1970-01-01T00:00:00.000Z",` +
          `"index":0,"asyncActionId":"aa_9","status":"DONE"}\n`,
          3,
          "action aa_9 finished for chunk 0, which no earlier line accepted with that action"
        ],
        [
          runLine.replace(`"version":1`, `"version":2`) + "\n",
          1,
          "format version 2; this version of effect-voucherify reads version 1"
        ]
      ]
      for (const [content, line, reason] of cases) {
        const error = yield* Effect.flip(Effect.flatMap(BulkJournal.memory(content), (j) => j.resume(run)))
        expect(error).toMatchObject({ _tag: "JournalCorruptError", line, reason: expect.stringContaining(reason) })
      }
    }))

  it.effect("an accepted chunk stays accepted, whatever a later line says of it", () =>
    Effect.gen(function*() {
      const journal = yield* BulkJournal.memory()
      const writer = yield* journal.start(run)
      yield* writer.settled(chunk(0), acceptedAs("aa_0"))
      yield* writer.settled(chunk(0), { _tag: "Unknown", error: new ServerError({ status: 504 }) })
      yield* writer.settled(chunk(0), acceptedAs("aa_0b"))
      yield* writer.settled(chunk(1), { _tag: "Rejected", error: new BadRequestError({ status: 400 }) })
      yield* writer.settled(chunk(1), acceptedAs("aa_1"))
      const { plan } = yield* Effect.flatMap(journal.text, (text) =>
        Effect.flatMap(BulkJournal.memory(text), (j) => j.resume(run)))
      expect([...plan.accepted.keys()]).toEqual([0, 1])
      // the first acceptance holds: its action is the one applied
      expect(plan.accepted.get(0)?.asyncActionId).toBe("aa_0")
      expect(plan.accepted.get(1)?.asyncActionId).toBe("aa_1")
    }))
})

describe("the journal's decide and checkEnd (internal)", () => {
  const plan = Effect.gen(function*() {
    const journal = yield* BulkJournal.memory()
    const writer = yield* journal.start(run)
    yield* writer.settled(chunk(0), acceptedAs("aa_0"))
    yield* writer.settled(chunk(1), { _tag: "Rejected", error: new BadRequestError({ status: 400 }) })
    yield* writer.settled(chunk(2), acceptedAs("aa_2"))
    return (yield* Effect.flatMap(BulkJournal.memory(yield* journal.text), (j) => j.resume(run))).plan
  })

  it.effect("skips an accepted chunk with the same body, sends any other", () =>
    Effect.gen(function*() {
      const p = yield* plan
      expect(Plan.decide(p, chunk(0))).toEqual({ _tag: "Skip", accepted: { ...chunk(0), asyncActionId: "aa_0" } })
      expect(Plan.decide(p, chunk(1))).toEqual({ _tag: "Send" })
      expect(Plan.decide(p, chunk(3))).toEqual({ _tag: "Send" })
    }))

  it.effect("stops at an accepted chunk whose body or range changed", () =>
    Effect.gen(function*() {
      const p = yield* plan
      expect(Plan.decide(p, chunk(2, "e".repeat(64)))).toEqual(
        new BulkJournal.JournalMismatchError({
          path: "memory",
          field: "sha256",
          journal: chunk(2).sha256,
          run: "e".repeat(64),
          chunk: 2
        })
      )
      expect(Plan.decide(p, { ...chunk(2), offset: 21 })).toMatchObject({ field: "offset", journal: "20", run: "21" })
      expect(Plan.decide(p, { ...chunk(2), count: 11 })).toMatchObject({ field: "count", journal: "10", run: "11" })
      const error = Plan.decide(p, { ...chunk(0), bytes: 1 }) as BulkJournal.JournalMismatchError
      expect(error.message).toBe(
        "chunk 0 is not the one the journal memory holds as accepted: its bytes was 500, is now 1 " +
          "(the ids or the metadata changed since)"
      )
    }))

  it.effect("checkEnd: an accepted chunk beyond the chunks packed now means the input shrank", () =>
    Effect.gen(function*() {
      const p = yield* plan
      expect(Plan.checkEnd(p, 3)).toBeUndefined()
      expect(Plan.checkEnd(p, 2)).toMatchObject({ field: "chunks", journal: "at least 3", run: "2" })
    }))
})

describe("BulkJournal hashes", () => {
  it.effect("sha256 is SHA-256, in hex", () =>
    Effect.gen(function*() {
      expect(yield* Ledger.sha256(new TextEncoder().encode("abc"))).toBe(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
      )
      const body = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251)
      // a view into a larger buffer hashes its own bytes only, like a packed body
      const view = body.subarray(100, 200_100)
      expect(yield* Ledger.sha256(view)).toBe(createHash("sha256").update(view).digest("hex"))
    }))

  it.effect("describeRun records the field and input it is given, and hashes the metadata JSON exactly as given", () =>
    Effect.gen(function*() {
      const metadataJson = `{"season":"summer","tags":{"b":1,"a":[1,{"y":2,"x":1}]}}`
      const described = { target: "vouchers", field: "codes", maxBytes: 5000, input: { kind: "stdin" } } as const
      const vouchers = yield* Ledger.describeRun({ ...described, metadataJson })
      expect(vouchers).toEqual({
        ...described,
        metadataSha256: createHash("sha256").update(metadataJson).digest("hex")
      })
      // no canonical form: the same object in another key order is other text, so another hash
      const sorted = yield* Ledger.describeRun({
        ...described,
        metadataJson: `{"season":"summer","tags":{"a":[1,{"x":1,"y":2}],"b":1}}`
      })
      expect(sorted.metadataSha256).not.toBe(vouchers.metadataSha256)
    }))

  it("isProcessAlive: this process runs", () => {
    expect(isProcessAlive(process.pid)).toBe(true)
  })
})

// ---------------------------------------------------------------------------
// The run a journal records, as BulkMetadata.run describes it

/** The metadata's JSON exactly as a body carries it: what follows `"metadata":` in a packed body. */
const metadataJsonSent = (metadata: Metadata) =>
  Effect.gen(function*() {
    const [first] = yield* Stream.runCollect(Stream.make("p1").pipe(BulkMetadata.chunk({ metadata })))
    const body = new TextDecoder().decode(first!.body)
    const at = body.indexOf(`],"metadata":`)
    expect(at).toBeGreaterThan(0)
    return body.slice(at + `],"metadata":`.length, -1)
  })

const hashOf = (text: string) => createHash("sha256").update(text).digest("hex")

const bulkRequests = Effect.map(
  Effect.flatMap(VoucherifyTest.VoucherifyTestState, (state) => state.calls),
  (calls) => calls.filter((call) => call.method === "sendEncodedBulkRequest").length
)

describe("BulkJournal under BulkMetadata.run", () => {
  const metadata = { season: "summer", tags: { b: 1, a: [1, { y: 2, x: 1 }] } }
  // the same object, its keys in another order
  const reordered = { tags: { a: [1, { x: 1, y: 2 }], b: 1 }, season: "summer" }

  it.effect("the header names the target's body field, the input (a stream unless said) and the SHA-256 of the metadata JSON as sent", () =>
    Effect.gen(function*() {
      const json = yield* metadataJsonSent(metadata)
      expect(json).toBe(JSON.stringify(metadata))

      const journal = yield* BulkJournal.memory()
      const report = yield* BulkMetadata.run(["V-1", "V-2"], { target: "vouchers", metadata, journal })
      expect(report.accepted.items).toBe(2)
      const text = yield* journal.text
      expect(linesOf(text)[0]).toEqual({
        type: "run",
        at: "1970-01-01T00:00:00.000Z",
        version: Format.formatVersion,
        runId: expect.any(String),
        target: "vouchers",
        field: "codes",
        metadataSha256: hashOf(json),
        maxBytes: 10485760,
        input: { kind: "stream" }
      })
      // the hash of the metadata, never its values
      expect(text).not.toContain("summer")

      const source: BulkJournal.InputDescription = run.input
      const fromFile = yield* BulkJournal.memory()
      yield* BulkMetadata.run(["p1"], { target: "products", metadata, journal: fromFile, source })
      expect(linesOf(yield* fromFile.text)[0]).toMatchObject({ target: "products", field: "source_ids", input: source })
    }).pipe(Effect.provide(VoucherifyTest.layer())))

  it.effect("a resume with the same metadata in another key order is refused on metadataSha256 before anything is sent", () =>
    Effect.gen(function*() {
      const ids = ["p1", "p2", "p3"]
      const journal = yield* BulkJournal.memory()
      yield* BulkMetadata.run(ids, { target: "products", metadata, journal })
      const text = yield* journal.text
      const sent = yield* bulkRequests
      expect(sent).toBe(1)

      const failure = yield* Effect.flip(
        BulkMetadata.run(ids, { target: "products", metadata: reordered, journal, resume: true })
      )
      expect(failure.error).toBeInstanceOf(BulkJournal.JournalMismatchError)
      expect(failure.error).toMatchObject({
        _tag: "JournalMismatchError",
        field: "metadataSha256",
        journal: hashOf(yield* metadataJsonSent(metadata)),
        run: hashOf(yield* metadataJsonSent(reordered))
      })
      expect(failure.report).toMatchObject({ status: "failed", accepted: { items: 0 } })
      expect(yield* bulkRequests).toBe(sent)
      expect(yield* journal.text).toBe(text)

      // the metadata as it was sent resumes: the accepted chunk is not sent again
      const resumed = yield* BulkMetadata.run(ids, { target: "products", metadata, journal, resume: true })
      expect(resumed.accepted.items).toBe(3)
      expect(resumed.journal).toEqual({ chunksHeld: 1, chunksSent: 0 })
      expect(yield* bulkRequests).toBe(sent)
    }).pipe(Effect.provide(VoucherifyTest.layer())))
})
