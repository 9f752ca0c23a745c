/** Starts the mock Voucherify server in a child process, so that its memory and CPU are not the client's. */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"

export interface ServerProcess {
  readonly baseUrl: string
  readonly appId: string
  readonly appToken: string
  readonly stop: () => void
}

export const startServer = async (): Promise<ServerProcess> => {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "--max-old-space-size=8192", "src/testing/bin/mock-server.ts", "--json"],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  const lines = createInterface({ input: child.stdout! })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve)
    child.once("exit", (code) => reject(new Error(`mock server exited with ${code}`)))
  })
  const { appId, appToken, baseUrl } = JSON.parse(first) as { baseUrl: string; appId: string; appToken: string }
  return { baseUrl, appId, appToken, stop: () => child.kill() }
}
