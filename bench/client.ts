/** The client of the benchmarks: the Voucherify service over undici, pointed at a server. */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Voucherify from "../src/Voucherify.js"
import type { ServerProcess } from "./server.js"

export const runtimeFor = (server: Omit<ServerProcess, "stop">) =>
  ManagedRuntime.make(
    Voucherify.layer({
      appId: server.appId,
      appToken: Redacted.make(server.appToken),
      baseUrl: server.baseUrl,
      timeout: "2 minutes"
    }).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.orDie)
  )
