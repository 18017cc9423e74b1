// Floor, not a product: the least HTTP work a Node.js proxy can do per request. It finds the end
// of each request head and forwards the head's bytes unchanged over a pooled keep-alive upstream
// connection, reads the response head's Content-Length and relays the head and body as they
// arrive. No validation, no header rewriting or forwarding headers, no chunked bodies, no request
// bodies, no routing, limits, logs or metrics. A turn's writes are corked until setImmediate, as
// switchyard's fast path holds them. Where relay-floor.mjs bounds any Node proxy, this bounds a
// Node proxy that must see where each HTTP message ends (to pool upstream connections).
// Opt-in: `--contenders http-floor`.
// Usage: node http-floor.mjs PORT ORIGIN [TLS_CERT TLS_KEY]
import { createServer, connect } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { readFileSync } from 'node:fs'

const [port, origin, cert, key] = process.argv.slice(2)
const target = new URL(origin)
const CRLF2 = Buffer.from('\r\n\r\n')
const EMPTY = Buffer.alloc(0)

const held = new Set()
let scheduled = false
function release() {
  scheduled = false
  for (const s of held) s.uncork()
  held.clear()
}
function send(socket, bytes) {
  if (!held.has(socket)) {
    socket.cork()
    held.add(socket)
    if (!scheduled) {
      scheduled = true
      setImmediate(release)
    }
  }
  socket.write(bytes)
}

const idle = []
function upstream() {
  const pooled = idle.pop()
  if (pooled !== undefined) return pooled
  const u = connect({ host: target.hostname, port: Number(target.port), noDelay: true })
  u.buf = EMPTY
  u.client = undefined
  u.remaining = -1 // -1: reading a head
  u.on('data', (chunk) => {
    let d = u.buf.length === 0 ? chunk : Buffer.concat([u.buf, chunk])
    u.buf = EMPTY
    while (d.length > 0) {
      const c = u.client
      if (c === undefined) return
      if (u.remaining < 0) {
        const end = d.indexOf(CRLF2)
        if (end < 0) {
          u.buf = d
          return
        }
        const head = d.latin1Slice(0, end)
        const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
        u.remaining = m === null ? 0 : Number(m[1])
        const n = Math.min(d.length, end + 4 + u.remaining)
        u.remaining -= n - end - 4
        send(c, d.subarray(0, n))
        d = d.subarray(n)
      } else {
        const n = Math.min(d.length, u.remaining)
        u.remaining -= n
        send(c, d.subarray(0, n))
        d = d.subarray(n)
      }
      if (u.remaining === 0) {
        u.remaining = -1
        u.client = undefined
        idle.push(u)
        c.busy = false
        drive(c)
      }
    }
  })
  u.on('error', () => {})
  u.on('close', () => {
    const i = idle.indexOf(u)
    if (i >= 0) idle.splice(i, 1)
    u.client?.destroy()
  })
  return u
}

function drive(c) {
  if (c.busy || c.buf.length === 0) return
  const end = c.buf.indexOf(CRLF2)
  if (end < 0) return
  const head = c.buf.subarray(0, end + 4)
  c.buf = c.buf.subarray(end + 4)
  c.busy = true
  const u = upstream()
  u.client = c
  send(u, head)
}

function serve(c) {
  c.setNoDelay?.(true)
  c.buf = EMPTY
  c.busy = false
  c.on('data', (chunk) => {
    c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk])
    drive(c)
  })
  c.on('error', () => {})
}

const server = cert ? createTlsServer({ cert: readFileSync(cert), key: readFileSync(key) }, serve) : createServer(serve)
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
