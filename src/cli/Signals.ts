/**
 * How the `bin` runs its program: `NodeRuntime.runMain`'s way (the program
 * is interrupted on a signal, and the process exits with the teardown's
 * code), with SIGHUP beside SIGINT and SIGTERM. Closing the terminal or the
 * ssh session of a run that lasts hours must end it as Ctrl-C does: the
 * engine stops sending, the report is written and balanced, the journal is
 * left consistent, and the exit code is 130.
 */
import { makeRunMain } from "@effect/platform/Runtime"

/** The signals that interrupt the program. */
export const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const

type Signal = typeof signals[number]

const ignore = () => {}

/** Calls `then` once both output streams have written what they were given. */
const flushed = (then: () => void) => process.stdout.write("", () => process.stderr.write("", then))

export const runMain = makeRunMain(({ fiber, teardown }) => {
  const keepAlive = setInterval(ignore, 2 ** 31 - 1)
  let receivedSignal = false
  const stopListening = () => {
    for (const signal of signals) process.removeListener(signal, onSignal)
  }
  function onSignal(signal: Signal) {
    receivedSignal = true
    stopListening()
    if (signal === "SIGHUP") {
      // The terminal is gone: what is still printed fails (EIO, EPIPE).
      // The report file is what counts; a write to the dead terminal must not end the process first.
      process.stdout.on("error", ignore)
      process.stderr.on("error", ignore)
    }
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  fiber.addObserver((exit) => {
    if (!receivedSignal) stopListening()
    clearInterval(keepAlive)
    // Exit once what was printed is written, rather than when the event loop
    // empties: an idle keep-alive socket of the HTTP client held a finished
    // run for a fifth of a second.
    teardown(exit, (code) => flushed(() => process.exit(code)))
  })
  for (const signal of signals) process.on(signal, onSignal)
})
