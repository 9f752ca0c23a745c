// Baseline of the per-record benchmark, what one would write by hand:
// `node recordsBaseline.mjs <ndjson file> <url>` reads lines with readline, parses each with
// JSON.parse, makes the same checks as the CLI (fields of the products schema and their types,
// the id's rules, an id seen twice, metadata a JSON object, numbers a double carries exactly,
// a record that fits a body), and posts `JSON.stringify`ed records in bodies of up to 10 MiB,
// `[a,b,...]`, 2 in flight, with undici. It stops at the first bad line, naming it.
import { createReadStream } from "node:fs"
import { createInterface } from "node:readline"
import { request } from "undici"

const [file, url] = process.argv.slice(2)
const limit = 10_485_760
const inFlight = new Set()
const post = async (body) => {
  const response = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } })
  await response.body.text()
}

const isString = (v) => typeof v === "string"
const fields = {
  source_id: isString,
  name: isString,
  price: (v) => Number.isInteger(v),
  attributes: (v) => Array.isArray(v) && v.every(isString),
  image_url: isString,
  metadata: (v) => typeof v === "object" && v !== null && !Array.isArray(v)
}
const control = /[\u0000-\u001f\u007f-\u009f]/
const edgeSpace = /^\s|\s$/
const longDigits = /\d{16}/
const fail = (line, reason) => {
  console.error(`line ${line}: ${reason}`)
  process.exit(1)
}

const seen = new Map()
let items = []
let bytes = 2
let lineNo = 0
for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  lineNo++
  if (line.trim() === "") continue
  if (line.includes("\uFFFD")) fail(lineNo, "not valid UTF-8")
  let record
  try {
    record = JSON.parse(line)
  } catch (error) {
    fail(lineNo, `not valid JSON: ${error.message}`)
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) fail(lineNo, "not an object")
  for (const key in record) {
    const check = fields[key]
    if (check === undefined) fail(lineNo, `unknown field ${key}`)
    if (!check(record[key])) fail(lineNo, `${key} has the wrong type`)
  }
  const id = record.source_id
  if (typeof id !== "string" || id.length === 0 || control.test(id) || edgeSpace.test(id)) fail(lineNo, "bad source_id")
  // a long run of digits may be a number JSON.parse rounded: the rare case is checked token by token
  if (longDigits.test(line)) {
    for (const token of line.replace(/"(?:[^"\\]|\\.)*"/g, "\"\"").match(/-?\d[\d.eE+-]*/g) ?? []) {
      if (token.replace(/[-.]|e.*$/gi, "").replace(/^0+/, "").length > 15 && String(Number(token)) !== token) {
        fail(lineNo, `${token} cannot be carried exactly`)
      }
    }
  }
  const first = seen.get(id)
  if (first !== undefined) fail(lineNo, `${id} is also on line ${first}`)
  seen.set(id, lineNo)
  const json = JSON.stringify(record)
  const size = Buffer.byteLength(json)
  if (size > limit - 2) fail(lineNo, "the record is too large for a body")
  if (bytes + (items.length > 0 ? 1 : 0) + size > limit) {
    const done = post(`[${items.join(",")}]`).then(() => inFlight.delete(done))
    inFlight.add(done)
    if (inFlight.size >= 2) await Promise.race(inFlight)
    items = []
    bytes = 2
  }
  bytes += (items.length > 0 ? 1 : 0) + size
  items.push(json)
}
if (items.length > 0) await post(`[${items.join(",")}]`)
await Promise.all(inFlight)
