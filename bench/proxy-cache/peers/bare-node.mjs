// Ceiling for any Node.js proxy on this machine: a bare node:http server answering the same objects
// from memory with the same headers, no proxying, no cache logic. Usage: node bare-node.mjs PORT
import { createServer } from 'node:http'

const port = Number(process.argv[2])
const objects = { '/obj-1k': Buffer.alloc(1024, 'a'), '/obj-100k': Buffer.alloc(100 * 1024, 'b') }
createServer((req, res) => {
  const body = objects[req.url] ?? Buffer.alloc(0)
  res.writeHead(body.length > 0 ? 200 : 404, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'public, max-age=86400', 'x-cache': 'HIT' })
  res.end(body)
}).listen(port, '127.0.0.1')
