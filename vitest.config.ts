import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the CLI tests run the bundled `bin`, built once here
    globalSetup: ["test/support/cliBundle.ts"],
    // at least two files at a time: the CLI and server files mostly wait for child processes and
    // sockets, so a second worker fills that time even on two cores (vitest would run one there)
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
