/**
 * `npm run mock-server`: the CLI's `mock-server` command (one definition,
 * `src/cli/MockServerCommand.ts`), run from the sources until Ctrl-C:
 *
 * ```sh
 * npm run mock-server -- --port 3000 --processing-delay 200 --bulk-per-hour 50
 * ```
 *
 * The same as `effect-voucherify mock-server` from the installed package.
 * The first line of output is `Mock Voucherify server listening on <url>`;
 * with `--json` it is one JSON object `{"baseUrl","appId","appToken"}`
 * instead, for a parent process (a benchmark) to read. `--help` lists the
 * options.
 *
 * @since 0.1.0
 */
import { main } from "../../cli/Program.js"

main([...process.argv.slice(0, 2), "mock-server", ...process.argv.slice(2)])
