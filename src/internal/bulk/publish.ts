/**
 * How a bulk run tells of its progress: the rate at which a `progress`
 * function is called, or every step for a `SubscriptionRef`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { Options, Progress } from "../../BulkRun.js"
import type { Tracker } from "./report.js"

/**
 * How the engine tells of its progress: `step` after ids are read or a
 * chunk is packed, sent or found in the journal; `outcome` when a chunk's
 * outcome is known (accepted, refused, awaited), a quota wait starts, or
 * the run ends. `tick` runs beside the run, for what must be said on time.
 */
export interface Publish {
  readonly step: Effect.Effect<void>
  readonly outcome: Effect.Effect<void>
  readonly tick: Effect.Effect<void>
}

const silent: Publish = { step: Effect.void, outcome: Effect.void, tick: Effect.void }

/**
 * The rate of a `progress` function: called at once for every outcome, and
 * for the steps between outcomes at most once per `every` (a step not
 * passed on yet is by the `tick` that follows, so that the state a slow
 * request leaves is shown on time). A naive `console.log` in it prints a
 * line per chunk and about one a second, not one per 4,096 ids read.
 */
export const throttled = (call: () => void, every: Duration.Duration = Duration.seconds(1)): Publish => {
  const interval = Duration.toMillis(every)
  let last = Number.NEGATIVE_INFINITY
  let behind = false
  const now = (at: number) => {
    last = at
    behind = false
    call()
  }
  return {
    step: Effect.map(Clock.currentTimeMillis, (at) => {
      if (at - last >= interval) now(at)
      else behind = true
    }),
    outcome: Effect.map(Clock.currentTimeMillis, now),
    tick: Effect.forever(Effect.delay(
      Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => behind && at - last >= interval && now(at))),
      every
    ))
  }
}

/** A function gets the throttled rate; a `SubscriptionRef` every step, for a display that samples it at its own. */
export const publisher = (
  progress: Options["onProgress"],
  tracker: Tracker
): Publish => {
  if (progress === undefined) return silent
  if (typeof progress === "function") return throttled(() => progress(tracker.progress()))
  const set = Effect.suspend(() => SubscriptionRef.set(progress, tracker.progress() satisfies Progress))
  return { step: set, outcome: set, tick: Effect.void }
}

