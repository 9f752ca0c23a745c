// A loopback HTTP server that reads and discards every request body and answers
// as Voucherify's bulk endpoints do (202 {"async_action_id": …}): the other end
// of the id-file benchmark, in a process of its own. Prints {"baseUrl": …} first.
import { createServer } from "node:http"

let actions = 0
// what the bulk requests since the last GET /stats carried
let stats = { requests: 0, bytes: 0 }
const server = createServer((request, response) => {
  if (request.url === "/stats") {
    response.end(JSON.stringify(stats))
    stats = { requests: 0, bytes: 0 }
    return
  }
  stats.requests++
  request.on("data", (piece) => (stats.bytes += piece.length))
  request.on("end", () => {
    const body = JSON.stringify({ async_action_id: `aa_${String(++actions).padStart(18, "0")}` })
    response.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    response.end(body)
  })
})
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ baseUrl: `http://127.0.0.1:${server.address().port}` }))
})
