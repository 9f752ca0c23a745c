import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the CLI tests run the bundled `bin`, built once here
    globalSetup: ["test/support/cliBundle.ts"],
    // one worker process keeps effect and the sources loaded from file to file: each file loading
    // them again cost seconds. No test file changes process-wide state (the environment, globals).
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
