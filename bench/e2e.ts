/**
 * Benchmark 4: end to end over HTTP to the loopback server (in a child
 * process): `BulkMetadata.run` (packing included) against a plain undici
 * loop posting the same pre-built bodies, two at a time like the engine's
 * default concurrency. Target ratio <= 1.05. A second line sends the same
 * pre-built bodies through `Voucherify.sendEncodedBulkRequest`, which
 * separates the client's HTTP path from the cost of packing.
 *
 * The mock server stores every record it is sent: each round gets a fresh
 * one (started and warmed untimed), so that no round parses its bodies into
 * a store that the rounds before it filled with millions of records.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { request } from "undici"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as Voucherify from "../src/Voucherify.js"
import { runtimeFor } from "./client.js"
import { chunked, makeIds } from "./ids.js"
import { ratioResult, type Result, timeBest } from "./measure.js"
import { startServer } from "./server.js"

const n = 3_000_000
const metadata = { season: "summer", label: true }

/** A fresh mock server and a client runtime pointed at it. */
const fresh = async () => {
  const server = await startServer()
  return { server, runtime: runtimeFor(server) }
}

export const run = async (): Promise<ReadonlyArray<Result>> => {
  let current = await fresh()
  const stop = async () => {
    await current.runtime.dispose()
    current.server.stop()
  }
  try {
    const ids = makeIds(n)
    const chunks = Effect.runSync(
      chunked(ids).pipe(
        BulkMetadata.chunk({ metadata }),
        Stream.map((c) => ({ body: c.body, size: c.size })),
        Stream.runCollect
      )
    )
    const bodies = [...chunks].map((c) => c.body)
    const url = () => `${current.server.baseUrl}/v1/products/metadata/async`
    const headers = () => ({
      "content-type": "application/json",
      "x-app-id": current.server.appId,
      "x-app-token": current.server.appToken
    })

    const post = async (body: Uint8Array | string) => {
      const response = await request(url(), { method: "POST", body, headers: headers() })
      const answer = (await response.body.json()) as { async_action_id?: string }
      if (response.statusCode !== 202 || answer.async_action_id === undefined) {
        throw new Error(`unexpected ${response.statusCode}`)
      }
    }
    const plainLoop = async () => {
      const queue = [...bodies]
      const worker = async () => {
        for (let body = queue.shift(); body !== undefined; body = queue.shift()) await post(body)
      }
      await Promise.all([worker(), worker()])
    }
    const engine = async () => {
      const report = await current.runtime.runPromise(BulkMetadata.run(ids, { target: "products", metadata }))
      if (report.accepted.items !== n) throw new Error("not every id was accepted")
    }
    const prebuilt = () =>
      current.runtime.runPromise(Effect.flatMap(Voucherify.Voucherify, (voucherify) =>
        Effect.forEach(
          chunks,
          (c) => voucherify.sendEncodedBulkRequest({ target: "products", body: c.body, ids: c.size }),
          { concurrency: 2, discard: true }
        )))
    // the first of each kind warms this process's code; every timed round then starts from a fresh,
    // warmed server (one small body through each client, so that no side pays the server's first request)
    await plainLoop()
    await engine()
    await prebuilt()
    const restart = async () => {
      await stop()
      current = await fresh()
      await post(JSON.stringify({ source_ids: ["warm-up"], metadata }))
      await current.runtime.runPromise(BulkMetadata.run(["warm-up"], { target: "products", metadata }))
    }
    const whole = await timeBest(5, plainLoop, engine, restart)
    const http = await timeBest(5, plainLoop, prebuilt, restart)
    return [
      ratioResult("4. end to end over HTTP, 3M ids", whole, 1.05, [
        `${bodies.length} requests of up to 10 MB each round, packing included`
      ]),
      ratioResult("4. the same pre-built bodies through Voucherify.sendEncodedBulkRequest", http, 1.15, [
        "the client's HTTP path alone: headers, retries, timeouts, typed errors, decoding"
      ])
    ]
  } finally {
    await stop()
  }
}
