// The floor for any fan-out server in Node.js: a TCP relay that parses nothing. Each connection
// says what it is with its first byte ('S' subscriber, 'P' publisher); every chunk a publisher
// sends is written unchanged to every subscriber. No subjects, no framing, no per-message work:
// what it costs per delivery is the cost of moving the bytes through the kernel and libuv, which
// a real broker can only add to (it coalesces per event-loop turn as a broker does). Prints `READY <port>`.
import { createServer } from 'node:net'

const subscribers = new Set()

const server = createServer((socket) => {
  socket.setNoDelay(true)
  socket.once('data', function first(chunk) {
    const role = chunk[0]
    const rest = chunk.subarray(1)
    if (role === 0x53) {
      subscribers.add(socket)
      socket.on('close', () => subscribers.delete(socket))
      socket.write('K')
      return
    }
    // Coalesce what arrives in one event-loop turn into one writev per subscriber, as a broker does.
    let pending = []
    const flush = () => {
      const chunks = pending
      pending = []
      for (const s of subscribers) {
        s.cork()
        for (const c of chunks) s.write(c)
        s.uncork()
      }
    }
    const relay = (data) => {
      if (pending.length === 0) setImmediate(flush)
      pending.push(data)
    }
    socket.write('K')
    if (rest.length > 0) relay(rest)
    socket.on('data', relay)
  })
  socket.on('error', () => socket.destroy())
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address()).port}\n`))
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const s of subscribers) s.destroy()
    server.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 500).unref()
  })
}
