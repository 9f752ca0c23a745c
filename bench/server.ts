/** Starts the servers of the benchmarks in child processes, so that their memory and CPU are not the client's. */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"

/** Runs `node <args>` and waits for the JSON line it prints first. */
const startNode = async <A>(args: ReadonlyArray<string>): Promise<A & { readonly stop: () => void }> => {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
  const lines = createInterface({ input: child.stdout! })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve)
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)))
  })
  return { ...(JSON.parse(first) as A), stop: () => child.kill() }
}

export interface ServerProcess {
  readonly baseUrl: string
  readonly appId: string
  readonly appToken: string
  readonly stop: () => void
}

/** The mock Voucherify server (src/testing/bin/mock-server.ts). */
export const startServer = (): Promise<ServerProcess> =>
  startNode(["--import", "tsx", "--max-old-space-size=8192", "src/testing/bin/mock-server.ts", "--json"])

/**
 * A server that reads and discards each bulk body (bench/discardServer.mjs);
 * with `actions`, it also finishes each action with its report file.
 */
export const startDiscardServer = (
  options: { readonly actions?: boolean } = {}
): Promise<{ readonly baseUrl: string; readonly stop: () => void }> =>
  startNode(["bench/discardServer.mjs", ...(options.actions === true ? ["--actions"] : [])])
