// bench/broker/idle.ts: memory with many idle clients. Opens C connections (default 10,000), each
// with 10 subscriptions, to our broker and to nats-server, then reports the server's RSS.
// Target: ours under 400 MB. Usage: node --import tsx bench/broker/idle.ts [--connections C]
import { connect, type Socket } from 'node:net'
import { machineLine } from '../lib/harness.js'
import { peakRssBytes, rssBytes } from '../lib/proc.js'
import { startNats, startOurs, type Peer } from './peers.js'

const args = process.argv.slice(2)
const connections = Number(args[args.indexOf('--connections') + 1] ?? 10_000) || 10_000
const SUBS = 10

function openOne(port: number, id: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let out = ''
    s.setNoDelay(true)
    s.once('error', reject)
    s.once('connect', () => {
      let cmd = 'CONNECT {"verbose":false,"pedantic":false}\r\n'
      for (let k = 0; k < SUBS; k++) cmd += `SUB idle.${id}.${k} ${k + 1}\r\n`
      s.write(`${cmd}PING\r\n`)
    })
    const onData = (d: Buffer): void => {
      out += d.toString('latin1')
      // Answer server PINGs so nobody is dropped as stale while we measure.
      if (out.includes('PING\r\n')) s.write('PONG\r\n')
      if (out.includes('PONG\r\n')) {
        s.off('data', onData)
        s.on('data', (x: Buffer) => {
          if (x.includes('PING')) s.write('PONG\r\n')
        })
        resolve(s)
      }
    }
    s.on('data', onData)
  })
}

async function measure(name: string, start: () => Promise<Peer>): Promise<string[]> {
  const peer = await start()
  const base = rssBytes(peer.pid)
  const sockets: Socket[] = []
  const t0 = performance.now()
  try {
    for (let i = 0; i < connections; i += 250) {
      const batch: Promise<Socket>[] = []
      for (let j = i; j < Math.min(connections, i + 250); j++) batch.push(openOne(peer.port, j))
      sockets.push(...(await Promise.all(batch)))
    }
    const setup = (performance.now() - t0) / 1000
    await new Promise((r) => setTimeout(r, 2000))
    const rss = rssBytes(peer.pid)
    const peak = peakRssBytes(peer.pid)
    const mb = (b: number): string => (b / 2 ** 20).toFixed(0)
    return [name, String(sockets.length), String(sockets.length * SUBS), mb(base), mb(rss), mb(peak), ((rss - base) / sockets.length / 1024).toFixed(1), setup.toFixed(1)]
  } finally {
    for (const s of sockets) s.destroy()
    await peer.stop()
  }
}

const rows = [await measure('switchyard', startOurs), await measure('nats-server', startNats)]
const header = ['server', 'connections', 'subscriptions', 'RSS before MB', 'RSS idle MB', 'peak RSS MB', 'KiB / connection', 'setup s']
console.log(
  [
    `### broker idle connections — ${new Date().toISOString()}`,
    `Machine: ${machineLine()}`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n'),
)
process.exit(0)
