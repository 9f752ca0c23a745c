/**
 * Progress on stderr while a bulk run goes: a redrawn bar when stderr is a
 * terminal, a plain line every few seconds when it is a file or a pipe (so
 * that logs stay readable), or nothing with `--quiet`.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { BulkProgress } from "../BulkMetadata.js"
import { count, duration, megabytes } from "./Format.js"

export type ProgressMode = "bar" | "lines" | "none"

export type ProgressSnapshot = Pick<
  BulkProgress,
  "idsRead" | "chunksSent" | "bytesSent" | "chunksAccepted" | "idsAccepted" | "actionsCompleted" | "waitingForQuotaUntil"
>

export const emptySnapshot: ProgressSnapshot = {
  idsRead: 0,
  chunksSent: 0,
  bytesSent: 0,
  chunksAccepted: 0,
  idsAccepted: 0,
  actionsCompleted: 0
}

/** The mode for this process: `--quiet` wins, then whether stderr is a terminal. */
export const modeFor = (quiet: boolean, isTTY: boolean | undefined): ProgressMode =>
  quiet ? "none" : isTTY === true ? "bar" : "lines"

export interface Phase {
  /** Share of the work sent, 0 to 1, when it can be known (ids accepted of a known total, bytes of a file read). */
  readonly fraction: number | undefined
  /** Whether the run follows its async actions after sending. */
  readonly awaiting: boolean
}

/** `waiting for the bulk quota until 14:05 (41m12s)`: the local time the run may send again, and how long until then. */
export const formatQuotaWait = (until: number, now: number): string => {
  const at = new Date(until)
  const clock = `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`
  return `waiting for the bulk quota until ${clock} (${duration(Math.max(0, until - now))})`
}

const perSecond = (ids: number, elapsedMs: number) => (elapsedMs > 0 ? Math.round((ids * 1000) / elapsedMs) : 0)

const bar = (fraction: number, width = 24) => {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `[${"█".repeat(full)}${"░".repeat(width - full)}]`
}

/**
 * One bar line: the share read with an ETA while sending, then the async
 * actions completed once every id is sent.
 */
export const formatBar = (s: ProgressSnapshot, elapsedMs: number, phase: Phase): string => {
  const sent = `${count(s.idsRead)} ids · ${count(s.chunksSent)} chunks · ${megabytes(s.bytesSent)}`
  const { fraction } = phase
  if (fraction === undefined) {
    return `${sent} · ${count(perSecond(s.idsRead, elapsedMs))} ids/s · ${count(s.actionsCompleted)} actions done`
  }
  if (fraction >= 1 && phase.awaiting) {
    const total = Math.max(s.chunksAccepted, 1)
    return `${bar(s.actionsCompleted / total)} actions ${count(s.actionsCompleted)}/${count(s.chunksAccepted)} done · ${sent}`
  }
  const eta = fraction > 0 ? ` · ETA ${duration((elapsedMs * (1 - fraction)) / fraction)}` : ""
  return `${bar(fraction)} ${Math.floor(fraction * 100)}% · ${sent} · ${
    count(perSecond(s.idsRead, elapsedMs))
  } ids/s${eta}`
}

/** One plain log line. */
export const formatLine = (s: ProgressSnapshot, elapsedMs: number): string =>
  `progress: ${s.idsRead} ids read, ${s.chunksSent} chunks sent (${megabytes(s.bytesSent)}), ${s.chunksAccepted} accepted, ${s.actionsCompleted} actions done, ${
    perSecond(s.idsRead, elapsedMs)
  } ids/s, ${duration(elapsedMs)} elapsed`

export interface RenderOptions {
  readonly mode: ProgressMode
  readonly snapshot: () => ProgressSnapshot
  /** See {@link Phase.fraction}. */
  readonly fraction?: ((snapshot: ProgressSnapshot) => number | undefined) | undefined
  readonly awaiting: boolean
  readonly write?: ((text: string) => void) | undefined
  /** Between plain lines. Default 5 s; the bar redraws ten times a second. */
  readonly every?: Duration.DurationInput | undefined
}

/**
 * Renders until the scope closes, then draws the final state once more (the
 * bar ends its line so that later output starts clean).
 */
export const render = (options: RenderOptions): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.mode === "none") return
    const write = options.write ?? ((text: string) => process.stderr.write(text))
    const started = yield* Clock.currentTimeMillis
    // without a terminal, a quota wait is said when it starts and then once a minute
    let quotaLineAt: number | undefined
    const draw = Effect.map(Clock.currentTimeMillis, (now) => {
      const s = options.snapshot()
      const elapsed = now - started
      const waiting = s.waitingForQuotaUntil
      if (options.mode === "bar") {
        const line = waiting !== undefined
          ? `${formatQuotaWait(waiting, now)} · ${count(s.idsAccepted)} ids accepted`
          : formatBar(s, elapsed, { fraction: options.fraction?.(s), awaiting: options.awaiting })
        return write(`\r\x1b[2K${line}`)
      }
      if (waiting === undefined) {
        quotaLineAt = undefined
        return write(`${formatLine(s, elapsed)}\n`)
      }
      if (quotaLineAt === undefined || now - quotaLineAt >= 60_000) {
        quotaLineAt = now
        write(`progress: ${formatQuotaWait(waiting, now)}, ${s.idsAccepted} ids accepted so far\n`)
      }
    })
    const every = options.mode === "bar" ? Duration.millis(100) : Duration.decode(options.every ?? "5 seconds")
    // Finalizers run last-in first-out: the ticker stops before the final draw.
    yield* Effect.addFinalizer(() => Effect.zipRight(draw, Effect.sync(() => options.mode === "bar" && write("\n"))))
    yield* Effect.forkScoped(Effect.forever(Effect.delay(draw, every)))
  })
