// A child process running stock `nats` clients for the burst tests, so subscribers and the
// publisher do not share the broker's event loop (and one subscriber can be SIGSTOPped alone).
//   sub <port> <subject> <conns> <name>   prints READY, then `COUNT n1,n2,...` every 100 ms
//   pub <port> <subject> <count> <size> <flushEvery>   prints `PUBLISHED <ms>` and exits
// Both exit when stdin closes, so a parent that dies leaves nothing behind.
import { connect, type NatsConnection } from 'nats'

const [mode, portArg, subject, a, b, c] = process.argv.slice(2)
const port = Number(portArg)
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()

if (mode === 'sub') {
  const conns = Number(a)
  const name = b ?? 'sub'
  const counts = new Array<number>(conns).fill(0)
  const ncs: NatsConnection[] = []
  for (let i = 0; i < conns; i++) {
    // No reconnects: a subscriber that was cut must show up as cut, not come back with a gap.
    const nc = await connect({ port, name: `${name}-${i}`, reconnect: false, noEcho: true })
    nc.subscribe(subject as string, { callback: () => (counts[i] = (counts[i] as number) + 1) })
    await nc.flush()
    ncs.push(nc)
    void nc.closed().then(() => process.stdout.write(`CLOSED ${i}\n`))
  }
  process.stdout.write('READY\n')
  setInterval(() => process.stdout.write(`COUNT ${counts.join(',')}\n`), 100)
} else if (mode === 'pub') {
  const count = Number(a)
  const size = Number(b)
  const flushEvery = Number(c)
  const nc = await connect({ port, name: 'burst-pub', reconnect: false })
  const payload = new Uint8Array(size)
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    nc.publish(subject as string, payload)
    if (i % flushEvery === flushEvery - 1) await nc.flush()
  }
  await nc.flush()
  process.stdout.write(`PUBLISHED ${Math.round(performance.now() - start)}\n`)
  await nc.close()
  process.exit(0)
} else {
  process.stderr.write(`unknown mode ${String(mode)}\n`)
  process.exit(2)
}
