/**
 * Joining a forked fiber under the `TestClock` without assuming how far it
 * got before the clock moved: a sleep that starts after an `adjust` is
 * measured from the new time, so "adjust, then join" can hang on a busy
 * machine. This moves the clock a second at a time until the fiber ends.
 */
import * as TestClock from "effect/TestClock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

export const joinAdvancing = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, limitSeconds = 4 * 3600) =>
  Effect.gen(function*() {
    for (let second = 0; second < limitSeconds && Option.isNone(yield* Fiber.poll(fiber)); second++) {
      yield* TestClock.adjust("1 second")
    }
    return yield* Fiber.join(fiber)
  })
