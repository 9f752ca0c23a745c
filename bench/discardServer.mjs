// A loopback HTTP server that reads and discards every request body and answers
// as Voucherify's bulk endpoints do (202 {"async_action_id": …}): the other end
// of the id-file benchmark, in a process of its own. Prints {"baseUrl": …} first.
//
// With `--actions` (benchmark 9) it also finishes every action it starts: the
// ids of each body are kept (found by a regular expression, not a parse), the
// action answers DONE at its first poll, and its report file lists every id as
// found and updated, as Voucherify's do.
import { createServer } from "node:http"

const withActions = process.argv.includes("--actions")
let actions = 0
// what the bulk requests since the last GET /stats carried
let stats = { requests: 0, bytes: 0, ids: 0 }
/** action id → the ids of its body, until its report is read */
const idsOf = new Map()
const idPattern = /"(?:source_id|code)":"((?:[^"\\]|\\.)*)"/g

let baseUrl = ""
const server = createServer((request, response) => {
  if (request.url === "/stats") {
    response.end(JSON.stringify(stats))
    stats = { requests: 0, bytes: 0, ids: 0 }
    return
  }
  const action = request.url.match(/^\/v1\/async-actions\/(aa_\d+)$/)
  if (action !== null) {
    const ids = idsOf.get(action[1]) ?? []
    const body = JSON.stringify({
      id: action[1],
      type: "PRODUCTS.BULK_UPDATE",
      status: "DONE",
      result: {
        done_count: ids.length,
        failed_count: 0,
        reports: [`${baseUrl}/reports/${action[1]}.csv`],
        reports_available_till: new Date(Date.now() + 3_600_000).toISOString()
      },
      created_at: new Date().toISOString(),
      object: "async_action"
    })
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    response.end(body)
    return
  }
  const report = request.url.match(/^\/reports\/(aa_\d+)\.csv$/)
  if (report !== null) {
    const ids = idsOf.get(report[1]) ?? []
    idsOf.delete(report[1])
    response.writeHead(200, { "content-type": "text/csv" })
    response.write("source_id,found,updated\r\n")
    for (let from = 0; from < ids.length; from += 10_000) {
      response.write(ids.slice(from, from + 10_000).map((id) => `${id},true,true\r\n`).join(""))
    }
    response.end()
    return
  }
  stats.requests++
  const pieces = []
  request.on("data", (piece) => {
    stats.bytes += piece.length
    if (withActions) pieces.push(piece)
  })
  request.on("end", () => {
    const id = `aa_${String(++actions).padStart(18, "0")}`
    if (withActions) {
      const ids = Array.from(Buffer.concat(pieces).toString("utf8").matchAll(idPattern), (m) => m[1])
      stats.ids += ids.length
      idsOf.set(id, ids)
    }
    const body = JSON.stringify({ async_action_id: id })
    response.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    response.end(body)
  })
})
server.listen(0, "127.0.0.1", () => {
  baseUrl = `http://127.0.0.1:${server.address().port}`
  console.log(JSON.stringify({ baseUrl }))
})
