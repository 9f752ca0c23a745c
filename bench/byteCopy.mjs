// Baseline of the id-file benchmark, the floor: `node byteCopy.mjs <ids file> <url> [native]`
// copies the bytes of each line straight into three reused 10 MiB bodies and posts
// them, 2 in flight, with undici. No checks at all: plain ASCII ids, LF only.
// Each line is copied by a JavaScript loop that stops at its LF; with `native`, by
// Buffer.indexOf and Buffer.copy, two calls into C++ a line (slower for short lines).
import { open } from "node:fs/promises"
import { request } from "undici"

const [file, url, mode] = process.argv.slice(2)
const limit = 10_485_760
const head = Buffer.from("{\"source_ids\":[")
const tail = Buffer.from("],\"metadata\":{\"bench\":true}}")
const free = [Buffer.allocUnsafe(limit), Buffer.allocUnsafe(limit), Buffer.allocUnsafe(limit)]
const inFlight = new Set()
const post = async (body) => {
  const response = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } })
  await response.body.text()
}
let body = free.pop()
let length = head.copy(body)
let ids = 0
const flush = async () => {
  length += tail.copy(body, length)
  const sent = body
  const done = post(sent.subarray(0, length)).then(() => (inFlight.delete(done), free.push(sent)))
  inFlight.add(done)
  while (inFlight.size >= 2 || free.length === 0) await Promise.race(inFlight)
  body = free.pop()
  length = head.copy(body)
  ids = 0
}
/** Copies the line at `read[start..]` to `body[at..]`: returns the index of its LF, or -1 if it has none before `end`. */
const copyLine = mode === "native"
  ? (read, start, end, at) => {
    const lf = read.indexOf(10, start)
    if (lf === -1 || lf >= end) return -1
    read.copy(body, at, start, lf)
    return lf
  }
  : (read, start, end, at) => {
    while (start < end && read[start] !== 10) body[at++] = read[start++]
    return start < end ? start : -1
  }
const fd = await open(file)
const read = Buffer.allocUnsafe(1 << 20)
let carry = 0 // bytes of a cut line at the start of `read`
for (;;) {
  const { bytesRead } = await fd.read(read, carry, read.length - carry)
  const end = carry + bytesRead
  let start = 0
  for (let lf; (lf = copyLine(read, start, end, length + (ids > 0 ? 2 : 1))) !== -1; start = lf + 1) {
    if (lf === start) continue
    if (length + (lf - start) + 3 + tail.length > limit) {
      await flush()
      copyLine(read, start, end, length + 1)
    }
    if (ids++ > 0) body[length++] = 0x2c
    body[length] = 0x22
    length += lf - start + 1
    body[length++] = 0x22
  }
  carry = read.copy(read, 0, start, end)
  if (bytesRead === 0) break
}
if (ids > 0) await flush()
await Promise.all(inFlight)
await fd.close()
