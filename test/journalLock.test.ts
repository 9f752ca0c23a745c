/**
 * The journal's lock under forced interleavings: contenders (each with a
 * process id of its own) are stopped between two steps of taking the lock
 * while others go on, so that every race the lock must win is run, not
 * hoped for. Exactly one contender holds the lock in each.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import { hostname } from "node:os"
import * as Lock from "../src/internal/journal/lock.js"

/** The processes that run, by id: the tests decide who is alive. */
const alive = new Set<number>()
const isAlive = (pid: number) => alive.has(pid)

const setup = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "journal-lock-" })
  return { fs, dir, lockPath: `${dir}/run.journal.lock` }
})

/** A lock file as a process `pid` of this machine writes it. */
const lockText = (pid: number, nonce = `n${pid}`) => `${JSON.stringify({ pid, host: hostname(), nonce })}\n`

/** Where a claim on the lock (or claim) at `path`, whose text is `text`, goes. */
const claimPath = (path: string, text: string) =>
  `${path}.${createHash("sha256").update(text).digest("hex").slice(0, 16)}.claim`

type Tag = Lock.Step["_tag"]

/** A point where a contender stops: `reached` when it gets there, and it goes on when `go` is done. */
const gate = Effect.map(Effect.all([Deferred.make<void>(), Deferred.make<void>()]), ([reached, go]) => ({ reached, go }))
type Gate = Effect.Effect.Success<typeof gate>

/**
 * A contender with process id `pid`: takes the lock in a scope of its own
 * (closed by `release`), stopping at `stops` (the n-th time it reaches each
 * step, the first by default).
 */
const contender = (
  fs: FileSystem.FileSystem,
  lockPath: string,
  pid: number,
  stops: Partial<Record<Tag, Gate & { readonly nth?: number }>> = {}
) =>
  Effect.gen(function*() {
    alive.add(pid)
    const scope = yield* Scope.make()
    const seen: Partial<Record<Tag, number>> = {}
    const step = (step: Lock.Step) =>
      Effect.suspend(() => {
        const n = (seen[step._tag] = (seen[step._tag] ?? 0) + 1)
        const stop = stops[step._tag]
        return stop === undefined || (stop.nth ?? 1) !== n
          ? Effect.void
          : Effect.zipRight(Deferred.succeed(stop.reached, undefined), Deferred.await(stop.go))
      })
    const fiber = yield* Effect.fork(Effect.exit(Scope.extend(Lock.acquire(fs, lockPath, { pid, isAlive, step }), scope)))
    return { pid, fiber, release: Scope.close(scope, Exit.void) }
  })

const holderOf = (fs: FileSystem.FileSystem, lockPath: string) =>
  Effect.map(fs.readFileString(lockPath), (text) => JSON.parse(text).pid as number)

/** The files beside the lock: no staging file or claim is left behind. */
const leftovers = (fs: FileSystem.FileSystem, dir: string) => Effect.map(fs.readDirectory(dir), (names) => names.sort())

const refusedBy = (exit: Exit.Exit<void, Lock.LockHeld | Lock.LockIoError>) =>
  Exit.match(exit, {
    onSuccess: () => "held",
    onFailure: (cause) => {
      const error = cause._tag === "Fail" ? cause.error : undefined
      return error?._tag === "LockHeld" ? `refused by ${error.pid}` : `failed: ${String(cause)}`
    }
  })

layer(NodeFileSystem.layer)("the journal lock", (it) => {
  describe("a free lock", () => {
    it.scoped("two contenders: one holds it, the other is refused naming it; released, it is free again", () =>
      Effect.gen(function*() {
        const { fs, dir, lockPath } = yield* setup
        const a = yield* contender(fs, lockPath, 101)
        expect(refusedBy(yield* Fiber.join(a.fiber))).toBe("held")
        const b = yield* contender(fs, lockPath, 102)
        expect(refusedBy(yield* Fiber.join(b.fiber))).toBe("refused by 101")
        expect(yield* holderOf(fs, lockPath)).toBe(101)
        yield* a.release
        expect(yield* leftovers(fs, dir)).toEqual([])
        const c = yield* contender(fs, lockPath, 103)
        expect(refusedBy(yield* Fiber.join(c.fiber))).toBe("held")
        yield* c.release
      }))
  })

  describe("a stale lock (its process is gone)", () => {
    it.scoped("both contenders read it, then both claim it: exactly one holds", () =>
      Effect.gen(function*() {
        const { fs, dir, lockPath } = yield* setup
        yield* fs.writeFileString(lockPath, lockText(900))
        const stopA = yield* gate
        const stopB = yield* gate
        const a = yield* contender(fs, lockPath, 201, { FoundStale: stopA })
        const b = yield* contender(fs, lockPath, 202, { FoundStale: stopB })
        // both have read the stale lock, neither has done anything about it yet
        yield* Deferred.await(stopA.reached)
        yield* Deferred.await(stopB.reached)
        yield* Deferred.succeed(stopA.go, undefined)
        yield* Deferred.succeed(stopB.go, undefined)
        const outcomes = [refusedBy(yield* Fiber.join(a.fiber)), refusedBy(yield* Fiber.join(b.fiber))]
        const holder = yield* holderOf(fs, lockPath)
        expect(outcomes.filter((o) => o === "held")).toHaveLength(1)
        expect(outcomes).toContain(`refused by ${holder}`)
        expect([201, 202]).toContain(holder)
        expect(yield* leftovers(fs, dir)).toEqual(["run.journal.lock"])
        yield* a.release
        yield* b.release
        expect(yield* leftovers(fs, dir)).toEqual([])
      }))

    it.scoped("one claims it while the other waits to: the waiting one is refused, naming the claimer, who then holds", () =>
      Effect.gen(function*() {
        const { fs, lockPath } = yield* setup
        yield* fs.writeFileString(lockPath, lockText(900))
        const stopA = yield* gate
        const a = yield* contender(fs, lockPath, 211, { Claimed: stopA })
        yield* Deferred.await(stopA.reached)
        // the stale lock is still there, with a live process's claim on it
        expect(yield* holderOf(fs, lockPath)).toBe(900)
        const b = yield* contender(fs, lockPath, 212)
        expect(refusedBy(yield* Fiber.join(b.fiber))).toBe("refused by 211")
        yield* Deferred.succeed(stopA.go, undefined)
        expect(refusedBy(yield* Fiber.join(a.fiber))).toBe("held")
        expect(yield* holderOf(fs, lockPath)).toBe(211)
        yield* a.release
      }))

    it.scoped("one takes it over while the other is between reading it and claiming it: the late one is refused", () =>
      Effect.gen(function*() {
        const { fs, dir, lockPath } = yield* setup
        yield* fs.writeFileString(lockPath, lockText(900))
        const stopB = yield* gate
        const b = yield* contender(fs, lockPath, 222, { FoundStale: stopB })
        yield* Deferred.await(stopB.reached)
        const a = yield* contender(fs, lockPath, 221)
        expect(refusedBy(yield* Fiber.join(a.fiber))).toBe("held")
        yield* Deferred.succeed(stopB.go, undefined)
        expect(refusedBy(yield* Fiber.join(b.fiber))).toBe("refused by 221")
        expect(yield* holderOf(fs, lockPath)).toBe(221)
        expect(yield* leftovers(fs, dir)).toEqual(["run.journal.lock"])
        yield* a.release
      }))

    it.scoped("a late contender's old reading cannot take the lock from a third that took it afresh since", () =>
      Effect.gen(function*() {
        const { fs, lockPath } = yield* setup
        yield* fs.writeFileString(lockPath, lockText(900))
        const stopB = yield* gate
        const b = yield* contender(fs, lockPath, 232, { FoundStale: stopB })
        yield* Deferred.await(stopB.reached)
        // A takes the stale lock over and lets it go; C takes the free lock
        const a = yield* contender(fs, lockPath, 231)
        expect(refusedBy(yield* Fiber.join(a.fiber))).toBe("held")
        yield* a.release
        const c = yield* contender(fs, lockPath, 233)
        expect(refusedBy(yield* Fiber.join(c.fiber))).toBe("held")
        // B goes on from its reading of the stale lock, long gone
        yield* Deferred.succeed(stopB.go, undefined)
        expect(refusedBy(yield* Fiber.join(b.fiber))).toBe("refused by 233")
        expect(yield* holderOf(fs, lockPath)).toBe(233)
        yield* c.release
      }))

    it.scoped("a claim whose process died too is claimed in turn, by exactly one; the dead claim is removed", () =>
      Effect.gen(function*() {
        const { fs, dir, lockPath } = yield* setup
        const stale = lockText(900)
        yield* fs.writeFileString(lockPath, stale)
        // process 901 claimed the stale lock, then died before it renamed its claim
        const deadClaim = claimPath(lockPath, stale)
        yield* fs.writeFileString(deadClaim, lockText(901))
        // both contenders stop when they reach the dead claim (their second stale file), then go on together
        const stopA = yield* gate
        const stopB = yield* gate
        const a = yield* contender(fs, lockPath, 241, { FoundStale: { ...stopA, nth: 2 } })
        const b = yield* contender(fs, lockPath, 242, { FoundStale: { ...stopB, nth: 2 } })
        yield* Deferred.await(stopA.reached)
        yield* Deferred.await(stopB.reached)
        yield* Deferred.succeed(stopA.go, undefined)
        yield* Deferred.succeed(stopB.go, undefined)
        const outcomes = [refusedBy(yield* Fiber.join(a.fiber)), refusedBy(yield* Fiber.join(b.fiber))]
        const holder = yield* holderOf(fs, lockPath)
        expect(outcomes.filter((o) => o === "held")).toHaveLength(1)
        expect(outcomes).toContain(`refused by ${holder}`)
        expect(yield* leftovers(fs, dir)).toEqual(["run.journal.lock"])
        yield* a.release
        yield* b.release
      }))

    it.scoped("a lock of another machine, or one that names no process, is not taken over", () =>
      Effect.gen(function*() {
        const { fs, lockPath } = yield* setup
        yield* fs.writeFileString(lockPath, `${JSON.stringify({ pid: 900, host: `not-${hostname()}`, nonce: "x" })}\n`)
        const a = yield* contender(fs, lockPath, 251)
        expect(refusedBy(yield* Fiber.join(a.fiber))).toBe("refused by 900")
        yield* fs.writeFileString(lockPath, "")
        const b = yield* contender(fs, lockPath, 252)
        expect(refusedBy(yield* Fiber.join(b.fiber))).toBe("refused by undefined")
        // an older version's lock, {"pid":N}: its process is gone, it is taken over
        yield* fs.writeFileString(lockPath, JSON.stringify({ pid: 900 }))
        const c = yield* contender(fs, lockPath, 253)
        expect(refusedBy(yield* Fiber.join(c.fiber))).toBe("held")
        yield* c.release
      }))
  })

  it.scoped("a contender whose lock was taken over (it was thought gone) does not remove the new holder's lock", () =>
    Effect.gen(function*() {
      const { fs, lockPath } = yield* setup
      const a = yield* contender(fs, lockPath, 261)
      expect(refusedBy(yield* Fiber.join(a.fiber))).toBe("held")
      alive.delete(261)
      const b = yield* contender(fs, lockPath, 262)
      expect(refusedBy(yield* Fiber.join(b.fiber))).toBe("held")
      yield* a.release
      expect(yield* holderOf(fs, lockPath)).toBe(262)
      yield* b.release
      expect(yield* fs.exists(lockPath)).toBe(false)
    }))
})
