/**
 * The polling loop of `awaitAsyncAction`, shared by the real service and the
 * in-memory test double so that both behave alike.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { AwaitError, AwaitOptions, Service } from "../../Voucherify.js"
import { AsyncActionFailedError, AsyncActionTimeoutError } from "../../VoucherifyError.js"
import type { AsyncAction } from "../../VoucherifySchema.js"

/** About 1 s first, then ×1.5 each time with jitter, never more than 30 s apart. */
export const defaultAwaitSchedule: Schedule.Schedule<unknown, AsyncAction> = Schedule.exponential("1 second", 1.5).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(30)))
)

export const defaultAwaitTimeout: Duration.Duration = Duration.minutes(10)

/** Polls with `getAsyncAction` until the action ends, fails, or the timeout passes. */
export const awaitWith = (
  getAsyncAction: Service["getAsyncAction"]
) =>
(id: string, options?: AwaitOptions): Effect.Effect<AsyncAction, AwaitError> =>
  Effect.gen(function*() {
    const timeout = Duration.decode(options?.timeout ?? defaultAwaitTimeout)
    const started = yield* Clock.currentTimeMillis
    let last: AsyncAction | undefined
    const poll = Effect.tap(getAsyncAction(id), (action) => {
      last = action
    })
    const timedOut = Effect.suspend(() =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        new AsyncActionTimeoutError({
          id,
          waited: Duration.millis(now - started),
          ...(last ? { lastStatus: last.status } : {})
        }))
    )
    const action = yield* poll.pipe(
      Effect.repeat({
        schedule: Schedule.passthrough(options?.schedule ?? defaultAwaitSchedule),
        until: (action) => action.isTerminal
      }),
      Effect.timeout(timeout),
      Effect.catchTag("TimeoutException", () => Effect.flip(timedOut))
    )
    if (!action.isTerminal) return yield* Effect.flip(timedOut)
    if (action.status === "FAILED") return yield* new AsyncActionFailedError({ action })
    return action
  })
