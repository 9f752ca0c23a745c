import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the CLI tests run the bundled `bin`, built once here
    globalSetup: ["test/support/cliBundle.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
