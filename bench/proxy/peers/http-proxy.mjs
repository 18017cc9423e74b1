// Peer: the `http-proxy` package (root devDependency) in one process, keep-alive to the origin.
// Usage: node http-proxy.mjs PORT ORIGIN [TLS_CERT TLS_KEY]
import { createServer } from 'node:http'
import { createServer as createHttps } from 'node:https'
import { Agent } from 'node:http'
import { readFileSync } from 'node:fs'
import httpProxy from 'http-proxy'

const [port, origin, cert, key] = process.argv.slice(2)
const proxy = httpProxy.createProxyServer({ target: origin, agent: new Agent({ keepAlive: true, maxSockets: 256 }), xfwd: true })
proxy.on('error', (_err, _req, res) => {
  if (!res.headersSent) res.writeHead(502)
  res.end()
})
const handler = (req, res) => proxy.web(req, res)
const server = cert ? createHttps({ cert: readFileSync(cert), key: readFileSync(key) }, handler) : createServer(handler)
server.keepAliveTimeout = 30_000
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
