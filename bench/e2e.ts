/**
 * Benchmark 4: end to end over HTTP to the loopback server (in a child
 * process): `BulkMetadata.run` (packing included) against a plain undici
 * loop posting the same pre-built bodies, two at a time like the engine's
 * default concurrency. Target ratio <= 1.15.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { request } from "undici"
import * as BulkMetadata from "../src/BulkMetadata.js"
import { runtimeFor } from "./client.js"
import { chunked, makeIds } from "./ids.js"
import { type Result, timeBest } from "./measure.js"
import { startServer } from "./server.js"

const n = 3_000_000
const metadata = { season: "summer", label: true }

export const run = async (): Promise<Result> => {
  const server = await startServer()
  const runtime = runtimeFor(server)
  try {
    const ids = makeIds(n)
    const bodies = Effect.runSync(
      chunked(ids).pipe(BulkMetadata.chunk({ metadata }), Stream.map((c) => c.body), Stream.runCollect)
    )
    const url = `${server.baseUrl}/v1/products/metadata/async`
    const headers = { "content-type": "application/json", "x-app-id": server.appId, "x-app-token": server.appToken }

    const plainLoop = async () => {
      const queue = [...bodies]
      const worker = async () => {
        for (let body = queue.shift(); body !== undefined; body = queue.shift()) {
          const response = await request(url, { method: "POST", body, headers })
          const answer = (await response.body.json()) as { async_action_id?: string }
          if (response.statusCode !== 202 || answer.async_action_id === undefined) {
            throw new Error(`unexpected ${response.statusCode}`)
          }
        }
      }
      await Promise.all([worker(), worker()])
    }
    const engine = async () => {
      const report = await runtime.runPromise(BulkMetadata.run(ids, { target: "products", metadata }))
      if (report.accepted.ids !== n) throw new Error("not every id was accepted")
    }
    await plainLoop()
    await engine()
    const { baseline, subject } = await timeBest(5, plainLoop, engine)
    return {
      name: "4. end to end over HTTP, 3M ids",
      baselineMs: baseline,
      subjectMs: subject,
      ratio: subject / baseline,
      target: 1.15,
      pass: subject / baseline <= 1.15,
      notes: [`${bodies.length} requests of up to 10 MB each round`]
    }
  } finally {
    await runtime.dispose()
    server.stop()
  }
}
