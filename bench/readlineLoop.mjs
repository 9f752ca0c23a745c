// Second baseline of the id-file benchmark, what a user would write by hand:
// `node readlineLoop.mjs <ids file> <url>` reads lines with readline, measures each
// id as JSON, and posts `JSON.stringify`ed bodies of up to 10 MiB, 2 in flight, with undici.
import { createReadStream } from "node:fs"
import { createInterface } from "node:readline"
import { request } from "undici"

const [file, url] = process.argv.slice(2)
const limit = 10_485_760
const metadata = { bench: true }
const frame = Buffer.byteLength(JSON.stringify({ source_ids: [], metadata }))
const inFlight = new Set()
const post = async (source_ids) => {
  const body = JSON.stringify({ source_ids, metadata })
  const response = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } })
  await response.body.text()
}
let ids = []
let bytes = frame
for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  if (line.length === 0) continue
  const size = Buffer.byteLength(JSON.stringify(line))
  if (bytes + (ids.length > 0 ? 1 : 0) + size > limit) {
    const done = post(ids).then(() => inFlight.delete(done))
    inFlight.add(done)
    if (inFlight.size >= 2) await Promise.race(inFlight)
    ids = []
    bytes = frame
  }
  bytes += (ids.length > 0 ? 1 : 0) + size
  ids.push(line)
}
if (ids.length > 0) await post(ids)
await Promise.all(inFlight)
