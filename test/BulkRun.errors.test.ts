/**
 * How a run's failure reads to a caller: the cause alone when nothing was
 * accepted (no "0 of 0"), and no stack trace of the engine's frames in
 * `Effect.runPromise`'s rejection or in `Cause.pretty` (Effect's span trace,
 * which names the call, stays).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { isBulkRunError } from "../src/BulkRun.js"
import { VoucherifyTest } from "../src/testing/index.js"

const refused = BulkMetadata.run(["p1", "p2"], { target: "products", metadata: { a: 1 }, maxBytes: 10 }).pipe(
  Effect.provide(VoucherifyTest.layer())
)
const cause = "Invalid request, metadata: the body frame and metadata take 36 bytes, leaving no room for an item within 10"

/** Lines of a stack trace, but for the spans Effect adds (`at BulkMetadata.run (…)`). */
const frames = (text: string) => text.split("\n").filter((line) => /^\s+at /.test(line) && !/^\s+at BulkMetadata\.run\b/.test(line))

describe("a run's failure", () => {
  it.effect("refused before reading anything: the cause alone", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(refused)
      expect(isBulkRunError(error) && error.report.total).toBe(0)
      expect(error.message).toBe(cause)
      expect(error.stack).toBe(`BulkRunError: ${cause}`)
    }))

  it("Effect.runPromise rejects with the message and no stack trace; Cause.pretty says the same", async () => {
    const rejection = await Effect.runPromise(refused).then(() => undefined, (error: unknown) => error as Error)
    expect(rejection).toBeInstanceOf(Error)
    expect(rejection!.message).toBe(cause)
    expect(rejection!.stack!.split("\n")[0]).toBe(`BulkRunError: ${cause}`)
    expect(frames(rejection!.stack!)).toEqual([])
    expect(frames(String(rejection))).toEqual([])
    const exit = await Effect.runPromiseExit(refused)
    expect(Exit.isFailure(exit) && frames(Cause.pretty(exit.cause))).toEqual([])
  })
})
