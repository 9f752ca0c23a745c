/**
 * Progress on stderr while a bulk run goes: a redrawn bar when stderr is a
 * terminal, a plain line every few seconds when it is a file or a pipe (so
 * that logs stay readable), or nothing with `--quiet`.
 *
 * The bar is cut to the terminal's width (it never wraps, which would leave
 * a line behind at every redraw) and redrawn at once when the terminal is
 * resized. A terminal made narrower than the bar rewraps it (tmux, VTE,
 * iTerm2, Windows Terminal…): the cursor is then on the last of the rows
 * the old bar takes at the new width, and the redraw goes up to the first
 * of them before it clears them. A line written while the terminal is being
 * resized is read at the new width: the bar is written with the automatic
 * wrap off, so that it never wraps even then. A {@link notice} printed while
 * the bar is up goes above it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { constVoid } from "effect/Function"
import type * as Scope from "effect/Scope"
import type { Progress as BulkProgress } from "../BulkRun.js"
import { count, counted, duration, type Item, megabytes, noun } from "./Format.js"

export type ProgressMode = "bar" | "lines" | "none"

export type ProgressSnapshot = Pick<
  BulkProgress,
  | "itemsRead"
  | "itemsUnchanged"
  | "chunksSent"
  | "bytesSent"
  | "chunksAccepted"
  | "itemsAccepted"
  | "actionsCompleted"
  | "waitingForQuotaUntil"
>

export const emptySnapshot: ProgressSnapshot = {
  itemsRead: 0,
  itemsUnchanged: 0,
  chunksSent: 0,
  bytesSent: 0,
  chunksAccepted: 0,
  itemsAccepted: 0,
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
  /** What the input holds: ids (the default), or whole records. */
  readonly item?: Item | undefined
}

/** `waiting for the bulk quota until 14:05 (41m12s)`: the local time the run may send again, and how long until then. */
export const formatQuotaWait = (until: number, now: number): string => {
  const at = new Date(until)
  const clock = `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`
  return `waiting for the bulk quota until ${clock} (${duration(Math.max(0, until - now))})`
}

const perSecond = (ids: number, elapsedMs: number) => (elapsedMs > 0 ? Math.round((ids * 1000) / elapsedMs) : 0)

const barText = (fraction: number, width: number) => {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `[${"█".repeat(full)}${"░".repeat(width - full)}]`
}

/** Columns a line takes: one per code point (the bar's characters and `·` are one column wide). */
export const columnsOf = (text: string): number => {
  let n = 0
  for (const _ of text) n++
  return n
}

/** A piece of a bar line; when the line is too long, the pieces of lowest `keep` go first. */
interface Piece {
  readonly text: string
  readonly keep: number
}

const widestBar = 24
const narrowestBar = 10

/**
 * The bar (if `fraction` is given) and the pieces, in at most `width`
 * columns: the bar narrows first, then the least useful pieces go, then the
 * bar; what still does not fit is cut with `…`.
 */
export const fit = (fraction: number | undefined, pieces: ReadonlyArray<Piece>, width: number): string => {
  const line = (barWidth: number | undefined, kept: ReadonlyArray<Piece>) =>
    [
      fraction !== undefined && barWidth !== undefined ? barText(fraction, barWidth) : "",
      kept.map((piece) => piece.text).join(" · ")
    ].filter((part) => part !== "").join(" ")
  if (!Number.isFinite(width)) return line(widestBar, pieces)
  const kept = [...pieces]
  const dropOrder = [...pieces].sort((a, b) => a.keep - b.keep)
  for (;;) {
    const narrow = line(narrowestBar, kept)
    if (columnsOf(narrow) <= width) {
      // the bar takes what room is left, up to its full width
      const barWidth = fraction === undefined ? undefined : Math.min(widestBar, narrowestBar + width - columnsOf(narrow))
      return line(barWidth, kept)
    }
    if (kept.length <= 1) break
    kept.splice(kept.indexOf(dropOrder.shift()!), 1)
  }
  const bare = line(undefined, kept)
  if (columnsOf(bare) <= width) return bare
  return `${Array.from(bare).slice(0, Math.max(0, width - 1)).join("")}…`
}

/**
 * One bar line, in at most `width` columns: the share read with an ETA while
 * sending, then the async actions completed once every id is sent.
 */
export const formatBar = (s: ProgressSnapshot, elapsedMs: number, phase: Phase, width = Infinity): string => {
  const item = phase.item ?? "id"
  const ids = { text: counted(s.itemsRead, item), keep: 6 }
  const chunks = { text: counted(s.chunksSent, "chunk"), keep: 3 }
  const bytes = { text: megabytes(s.bytesSent), keep: 2 }
  const rate = { text: `${count(perSecond(s.itemsRead, elapsedMs))} ${item}s/s`, keep: 4 }
  const { fraction } = phase
  if (fraction === undefined) {
    return fit(undefined, [ids, chunks, bytes, rate, {
      text: `${counted(s.actionsCompleted, "action")} done`,
      keep: 5
    }], width)
  }
  if (fraction >= 1 && phase.awaiting) {
    const total = Math.max(s.chunksAccepted, 1)
    return fit(s.actionsCompleted / total, [
      { text: `actions ${count(s.actionsCompleted)}/${count(s.chunksAccepted)} done`, keep: 9 },
      ids,
      chunks,
      bytes
    ], width)
  }
  const eta = fraction > 0 ? [{ text: `ETA ${duration((elapsedMs * (1 - fraction)) / fraction)}`, keep: 7 }] : []
  return fit(fraction, [{ text: `${Math.floor(fraction * 100)}%`, keep: 9 }, ids, chunks, bytes, rate, ...eta], width)
}

/** The bar line during a bulk-quota wait. */
export const formatQuotaBar = (s: ProgressSnapshot, now: number, width = Infinity, item: Item = "id"): string =>
  fit(undefined, [
    { text: formatQuotaWait(s.waitingForQuotaUntil ?? now, now), keep: 9 },
    { text: `${counted(s.itemsAccepted, item)} accepted`, keep: 5 }
  ], width)

/** One plain log line. */
export const formatLine = (s: ProgressSnapshot, elapsedMs: number, item: Item = "id"): string =>
  `progress: ${s.itemsRead} ${noun(s.itemsRead, item)} read, ${s.chunksSent} ${noun(s.chunksSent, "chunk")} sent (${
    megabytes(s.bytesSent)
  }), ${s.chunksAccepted} accepted, ${s.actionsCompleted} ${noun(s.actionsCompleted, "action")} done, ${
    perSecond(s.itemsRead, elapsedMs)
  } ${item}s/s, ${duration(elapsedMs)} elapsed`

/** Where the bar is drawn: stderr, or a test's own. */
export interface Screen {
  readonly write: (text: string) => void
  /** The terminal's width now; `undefined` when unknown (80 is assumed). */
  readonly columns: () => number | undefined
  /** Calls `listener` when the terminal is resized, until the returned function is called. */
  readonly onResize: (listener: () => void) => () => void
}

export const stderrScreen: Screen = {
  write: (text) => {
    process.stderr.write(text)
  },
  columns: () => process.stderr.columns,
  onResize: (listener) => {
    process.stderr.on("resize", listener)
    return () => {
      process.stderr.off("resize", listener)
    }
  }
}

/** The bar on the screen now, if any: a notice clears it, prints above it, and lets it redraw. */
let activeBar: { readonly say: (text: string) => void } | undefined

/**
 * A line on stderr that must not be lost in the bar (a retried connection):
 * printed above a bar that is up, as a plain line otherwise. Shown also with
 * `--quiet`: it is not progress.
 */
export const notice = (text: string): Effect.Effect<void> =>
  Effect.sync(() => {
    if (activeBar !== undefined) activeBar.say(text)
    else process.stderr.write(`${text}\n`)
  })

export interface RenderOptions {
  readonly mode: ProgressMode
  readonly snapshot: () => ProgressSnapshot
  /** See {@link Phase.fraction}. */
  readonly fraction?: ((snapshot: ProgressSnapshot) => number | undefined) | undefined
  readonly awaiting: boolean
  /** See {@link Phase.item}. */
  readonly item?: Item | undefined
  /** Where the plain lines go (default stderr). The bar is drawn on `screen`. */
  readonly write?: ((text: string) => void) | undefined
  readonly screen?: Screen | undefined
  /** Between plain lines. Default 5 s; the bar redraws ten times a second. */
  readonly every?: Duration.DurationInput | undefined
}

/**
 * What goes before a bar line: back to where the last one started, its rows
 * cleared. The last line took `lastColumns`; at `width` columns a terminal
 * that rewraps it (on a resize) shows it on `ceil(lastColumns / width)`
 * rows, the cursor on the last. Each row is cleared alone (`ESC [2K`): tmux
 * takes a clear to the end of the screen from its top-left corner (`ESC
 * [J`) for a clear screen, and keeps a copy of the bar in its history.
 */
export const backOver = (lastColumns: number, width: number): string => {
  const rows = lastColumns > width ? Math.ceil(lastColumns / width) : 1
  if (rows === 1) return "\r\x1b[2K"
  const up = `\x1b[${rows - 1}A`
  return `\r${up}\x1b[2K${"\x1b[1B\x1b[2K".repeat(rows - 1)}${up}`
}

/**
 * `line` with the terminal's automatic wrap off while it is written (and on
 * again after it, in the same write). A line written while the terminal is
 * being made narrower, before the program hears of it, is read at the new
 * width: wrapped, it would push the old bar's first rows out of reach of the
 * redraw; unwrapped, it stays on the row the redraw starts from.
 */
export const noWrap = (line: string): string => `\x1b[?7l${line}\x1b[?7h`

/** What the run calls each time its snapshot changes, for output that must not wait for the next tick. */
export type Changed = () => void

/** Between the lines of a bulk-quota wait without a terminal. */
const quotaLineEvery = 60_000

/**
 * Renders until the scope closes, then draws the final state once more (the
 * bar ends its line so that later output starts clean). Without a terminal,
 * each bulk-quota wait gets a line as it starts (on `Changed`, not at the
 * next tick) and then one a minute while it lasts.
 */
export const render = (options: RenderOptions): Effect.Effect<Changed, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.mode === "none") return constVoid
    const started = yield* Clock.currentTimeMillis
    if (options.mode === "bar") {
      yield* renderBar(options, started)
      return constVoid
    }
    const write = options.write ?? ((text: string) => process.stderr.write(text))
    const clock = yield* Effect.clock
    // the wait said last (its end time), and when
    let said: { readonly until: number; readonly at: number } | undefined
    const draw = (tick: boolean) => {
      const now = clock.unsafeCurrentTimeMillis()
      const s = options.snapshot()
      const until = s.waitingForQuotaUntil
      if (until === undefined) {
        said = undefined
        if (tick) write(`${formatLine(s, now - started, options.item)}\n`)
        return
      }
      if (said === undefined || said.until !== until || (tick && now - said.at >= quotaLineEvery)) {
        said = { until, at: now }
        write(`progress: ${formatQuotaWait(until, now)}, ${s.itemsAccepted} ${noun(s.itemsAccepted, options.item ?? "id")} accepted so far\n`)
      }
    }
    // Finalizers run last-in first-out: the ticker stops before the final draw.
    yield* Effect.addFinalizer(() => Effect.sync(() => draw(true)))
    yield* Effect.forkScoped(Effect.forever(Effect.delay(Effect.sync(() => draw(true)), Duration.decode(options.every ?? "5 seconds"))))
    return () => draw(false)
  })

const renderBar = (options: RenderOptions, started: number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const screen = options.screen ?? stderrScreen
    // the clock of the run (a test's clock in tests), read when the bar is drawn outside a fiber (a resize)
    const clock = yield* Effect.clock
    const lineNow = () => {
      const now = clock.unsafeCurrentTimeMillis()
      const s = options.snapshot()
      // one column spare: a line that fills the last column makes some terminals wrap
      const width = Math.max(10, (screen.columns() ?? 80) - 1)
      return s.waitingForQuotaUntil !== undefined
        ? formatQuotaBar(s, now, width, options.item)
        : formatBar(s, now - started, { fraction: options.fraction?.(s), awaiting: options.awaiting, item: options.item }, width)
    }
    // the columns of the bar line on the screen: 0 when there is none
    let drawn = 0
    const draw = () => {
      const line = lineNow()
      screen.write(`${drawn > 0 ? backOver(drawn, screen.columns() ?? 80) : "\r"}${noWrap(line)}`)
      drawn = Math.max(1, columnsOf(line))
    }
    const bar = {
      say: (text: string) => {
        if (drawn > 0) screen.write(backOver(drawn, screen.columns() ?? 80))
        screen.write(`${text}\n`)
        drawn = 0
        draw()
      }
    }
    activeBar = bar
    const stopListening = screen.onResize(draw)
    // Finalizers run last-in first-out: the ticker stops before the final draw.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopListening()
        if (activeBar === bar) activeBar = undefined
        draw()
        screen.write("\n")
      })
    )
    yield* Effect.forkScoped(Effect.forever(Effect.delay(Effect.sync(draw), Duration.millis(100))))
  })
