#!/usr/bin/env node
/**
 * Entry point of the `effect-voucherify` command.
 *
 * Errors are printed here, once, as one line per cause (`runMain`'s own
 * reporting is off, or each failure would be printed twice with its stack),
 * and the exit code follows `ExitCode.ts`. A signal (SIGINT, SIGTERM, SIGHUP)
 * interrupts the program, which then ends as after Ctrl-C (`Signals.ts`).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cli from "./Cli.js"
import { printCause } from "./ErrorOutput.js"
import { ExitCode, exitCodeOfCause } from "./ExitCode.js"
import { runMain } from "./Signals.js"

Cli.run(process.argv).pipe(
  Effect.tapErrorCause(printCause),
  Effect.provide(NodeContext.layer),
  // SIGINT, SIGTERM and SIGHUP interrupt the run: the report is written, and the exit code is 130
  runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? ExitCode.Success : exitCodeOfCause(exit.cause))
  })
)
