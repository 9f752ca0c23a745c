/**
 * Progress on stderr while a bulk run goes: a redrawn bar when stderr is a
 * terminal, a plain line every few seconds when it is a file or a pipe (so
 * that logs stay readable), or nothing with `--quiet`.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export type ProgressMode = "bar" | "lines" | "none"

/** What the renderer shows; the bulk engine's progress maps onto it. */
export interface ProgressSnapshot {
  readonly idsRead: number
  readonly chunksSent: number
  readonly bytesSent: number
  readonly actionsCompleted: number
}

/** The mode for this process: `--quiet` wins, then whether stderr is a terminal. */
export const modeFor = (quiet: boolean, isTTY: boolean | undefined): ProgressMode =>
  quiet ? "none" : isTTY === true ? "bar" : "lines"

const count = (n: number) => n.toLocaleString("en-US")

/** `12.3 MB`: decimal megabytes, as the 10 MB limit is usually quoted. */
export const formatMB = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`

export const formatDuration = (ms: number) => {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
}

const rate = (ids: number, elapsedMs: number) => (elapsedMs > 0 ? Math.round((ids * 1000) / elapsedMs) : 0)

const bar = (fraction: number, width: number) => {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `[${"█".repeat(full)}${"░".repeat(width - full)}]`
}

/**
 * One bar line. With a known `total` it shows the share done and an ETA;
 * once every id is sent it follows the async actions instead.
 */
export const formatBar = (
  s: ProgressSnapshot,
  elapsedMs: number,
  total: number | undefined
): string => {
  const perSecond = rate(s.idsRead, elapsedMs)
  const sent = `${count(s.chunksSent)} chunks · ${formatMB(s.bytesSent)} · ${count(perSecond)} ids/s`
  if (total === undefined) return `${count(s.idsRead)} ids · ${sent} · ${count(s.actionsCompleted)} actions done`
  if (s.idsRead >= total && s.chunksSent > 0) {
    return `${bar(s.actionsCompleted / s.chunksSent, 24)} actions ${count(s.actionsCompleted)}/${
      count(s.chunksSent)
    } done · ${count(total)} ids sent in ${sent}`
  }
  const eta = perSecond > 0 ? ` · ETA ${formatDuration(((total - s.idsRead) / perSecond) * 1000)}` : ""
  const percent = Math.floor((s.idsRead / Math.max(total, 1)) * 100)
  return `${bar(s.idsRead / Math.max(total, 1), 24)} ${percent}% ${count(s.idsRead)}/${count(total)} ids · ${sent}${eta}`
}

/** One plain log line. */
export const formatLine = (s: ProgressSnapshot, elapsedMs: number): string =>
  `progress: ${s.idsRead} ids read, ${s.chunksSent} chunks sent (${formatMB(s.bytesSent)}), ${s.actionsCompleted} actions done, ${
    rate(s.idsRead, elapsedMs)
  } ids/s, ${formatDuration(elapsedMs)} elapsed`

export interface RenderOptions {
  readonly mode: ProgressMode
  readonly snapshot: Effect.Effect<ProgressSnapshot>
  readonly total?: number | undefined
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
    const draw = Effect.gen(function*() {
      const s = yield* options.snapshot
      const elapsed = (yield* Clock.currentTimeMillis) - started
      write(options.mode === "bar" ? `\r\x1b[2K${formatBar(s, elapsed, options.total)}` : `${formatLine(s, elapsed)}\n`)
    })
    const every = options.mode === "bar" ? Duration.millis(100) : Duration.decode(options.every ?? "5 seconds")
    // Finalizers run last-in first-out: the ticker stops before the final draw.
    yield* Effect.addFinalizer(() => Effect.zipRight(draw, Effect.sync(() => options.mode === "bar" && write("\n"))))
    yield* Effect.forkScoped(Effect.forever(Effect.delay(draw, every)))
  })
