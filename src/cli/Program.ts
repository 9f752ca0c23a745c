/**
 * The `effect-voucherify` process: runs a command line, prints how it
 * failed once (one `error:` line per cause, `runMain`'s own reporting is
 * off, or each failure would be printed twice with its stack), and exits
 * with the code `ExitCode.ts` gives. A signal (SIGINT, SIGTERM, SIGHUP)
 * interrupts the program, which then ends as after Ctrl-C (`Signals.ts`).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cli from "./Cli.js"
import { printCause } from "./ErrorOutput.js"
import { ExitCode, exitCodeOfCause } from "./ExitCode.js"
import { runMain } from "./Signals.js"

/** Runs `argv` (as `process.argv`: runtime and script first) until it ends, then exits. */
export const main = (argv: ReadonlyArray<string>): void =>
  Cli.run(argv).pipe(
    Effect.tapErrorCause(printCause),
    Effect.provide(NodeContext.layer),
    // SIGINT, SIGTERM and SIGHUP interrupt the run: the report is written, and the exit code is 130
    runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? ExitCode.Success : exitCodeOfCause(exit.cause))
    })
  )
