/**
 * The tracing section of the reference: its OpenTelemetry example compiles,
 * and the spans and attributes it lists are the ones an OpenTelemetry
 * exporter receives.
 */
import { NodeSdk } from "@effect/opentelemetry"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { BatchSpanProcessor, ConsoleSpanExporter, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as BulkMetadata from "../src/BulkMetadata.js"
import * as BulkRecords from "../src/BulkRecords.js"
import * as Voucherify from "../src/Voucherify.js"
import { clientWith, TOKEN } from "./support/client.js"

// ---- the README example, as printed there ----
const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "catalog-sync" },
  // in production: new OTLPTraceExporter() from @opentelemetry/exporter-trace-otlp-http
  spanProcessor: new BatchSpanProcessor(new ConsoleSpanExporter())
}))

const VoucherifyLive = Voucherify.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))

export const main = BulkMetadata.run(["prod_1", "prod_2"], {
  target: "products",
  metadata: { season: "summer" }
}).pipe(
  Effect.provide(VoucherifyLive),
  Effect.provide(TracingLive)
)
// ---- end of the example ----

/** The spans a run makes against a client that accepts its one body, as an OpenTelemetry exporter receives them. */
const spansOf = <A, E>(run: Effect.Effect<A, E, Voucherify.Voucherify>) => {
  const exporter = new InMemorySpanExporter()
  const { layer } = clientWith([{ status: 202, body: { async_action_id: "aa_1" } }])
  // read before the SDK shuts down: shutting down empties the in-memory exporter
  return run.pipe(
    Effect.provide(layer),
    Effect.andThen(() => exporter.getFinishedSpans()),
    Effect.provide(NodeSdk.layer(() => ({
      resource: { serviceName: "catalog-sync" },
      spanProcessor: new SimpleSpanProcessor(exporter)
    })))
  )
}

describe("tracing", () => {
  it.effect("an OpenTelemetry exporter receives the documented spans, attributes and redactions", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(BulkMetadata.run(["prod_1", "prod_2"], { target: "products", metadata: { season: "summer" } }))
      const byName = (name: string) => spans.find((span) => span.name === name)
      expect(spans.map((span) => span.name)).toEqual(expect.arrayContaining([
        "BulkMetadata.run",
        "BulkMetadata.sendChunk",
        "Voucherify.sendEncodedBulkRequest",
        "http.client POST"
      ]))
      expect(byName("BulkMetadata.run")?.attributes).toMatchObject({ target: "products", unit: "ids" })
      expect(byName("BulkMetadata.sendChunk")?.attributes).toMatchObject({
        target: "products",
        unit: "ids",
        index: 0,
        offset: 0,
        count: 2
      })
      expect(byName("Voucherify.sendEncodedBulkRequest")?.attributes).toMatchObject({
        "voucherify.target": "products",
        "voucherify.ids": 2,
        "voucherify.async_action_id": "aa_1"
      })
      const http = byName("http.client POST")
      expect(http?.attributes).toMatchObject({
        "http.request.method": "POST",
        "url.full": "https://api.voucherify.io/v1/products/metadata/async",
        "http.response.status_code": 202,
        "http.request.header.x-app-token": "<redacted>"
      })
      expect(Object.keys(http?.attributes ?? {})).not.toContain("http.request.header.traceparent")
      expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain(TOKEN)
    }))

  it.effect("a per-record run's spans are BulkRecords' and count records", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(BulkRecords.run([{ source_id: "sku-1", metadata: { tier: "gold" } }], { target: "products" }))
      const names = spans.map((span) => span.name)
      expect(names).toEqual(expect.arrayContaining(["BulkRecords.run", "BulkRecords.sendChunk"]))
      expect(names.filter((name) => name.startsWith("BulkMetadata."))).toEqual([])
      expect(spans.find((span) => span.name === "BulkRecords.sendChunk")?.attributes).toMatchObject({
        target: "products",
        unit: "records",
        count: 1
      })
    }))
})
