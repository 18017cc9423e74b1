// Floor, not a product: a byte relay in one Node process. Each client connection gets its own
// upstream connection and bytes are copied both ways unparsed (no HTTP framing, headers, routing,
// pooling, limits or logs). It is the least work any Node.js HTTP proxy can do per request (four
// socket syscalls and their event-loop wake-ups), so it bounds what a Node proxy can reach
// against nginx on this machine. Opt-in: `--contenders relay-floor`.
// Usage: node relay-floor.mjs PORT ORIGIN [TLS_CERT TLS_KEY]
import { createServer, connect } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { readFileSync } from 'node:fs'

const [port, origin, cert, key] = process.argv.slice(2)
const target = new URL(origin)

function relay(client) {
  const up = connect({ host: target.hostname, port: Number(target.port), noDelay: true })
  client.setNoDelay?.(true)
  client.pipe(up)
  up.pipe(client)
  const end = () => {
    client.destroy()
    up.destroy()
  }
  client.on('error', end).on('close', end)
  up.on('error', end).on('close', end)
}

const server = cert ? createTlsServer({ cert: readFileSync(cert), key: readFileSync(key) }, relay) : createServer(relay)
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
