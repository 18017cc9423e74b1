import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect, StringCodec, headers } from 'nats'
import { startBroker } from '../../../src/broker/index.js'
import { freePort, waitForPort } from '../../../bench/lib/net.js'
const sc = StringCodec()
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))
// 1. nats-server hub, Switchyard spoke
const [np, nl] = [await freePort(), await freePort()]
writeFileSync('/tmp/leafx/hub.conf', `listen: 127.0.0.1:${np}\nleafnodes { listen: 127.0.0.1:${nl} }\n`)
const ns = spawn('/usr/sbin/nats-server', ['-c', '/tmp/leafx/hub.conf', '-DV'], { stdio: ['ignore', 'pipe', 'pipe'] })
let out = ''; ns.stderr.on('data', d => out += d); ns.stdout.on('data', d => out += d)
await waitForPort(np, { child: ns, label: 'ns', log: () => out })
const spoke = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${nl}` }], retryDelayMs: 50 } })
const t0 = Date.now()
while (spoke.leafs!.leafs.size === 0) { await sleep(20); if (Date.now() - t0 > 3000) { console.log(out); throw new Error('no link') } }
const a = await connect({ servers: `127.0.0.1:${np}` })
const b = await connect({ servers: `127.0.0.1:${spoke.port}` })
const got: string[] = []
a.subscribe('x.>', { callback: (_e, m) => got.push('hub:' + sc.decode(m.data) + (m.headers ? m.headers.get('k') : '')) })
a.subscribe('q', { queue: 'g', callback: (_e, m) => got.push('hubq:' + sc.decode(m.data)) })
b.subscribe('y.*', { callback: (_e, m) => got.push('spoke:' + sc.decode(m.data)) })
b.subscribe('svc', { callback: (_e, m) => m.respond(sc.encode('pong')) })
await a.flush(); await b.flush()
await sleep(300)
const h = headers(); h.set('k', 'v')
b.publish('x.1.2', sc.encode('from-spoke'), { headers: h })
b.publish('q', sc.encode('q1'))
a.publish('y.z', sc.encode('from-hub'))
const rep = await a.request('svc', sc.encode('ping'), { timeout: 2000 })
console.log('reply', sc.decode(rep.data))
const rep2 = await b.request('svc', sc.encode('ping'), { timeout: 2000 })
console.log('reply2', sc.decode(rep2.data))
await sleep(300)
console.log(got)
await a.close(); await b.close(); await spoke.close()
ns.kill('SIGKILL')
console.log(out.split('\n').filter(l => /LS\+|LMSG|CONNECT|INFO|ERR/.test(l)).slice(0, 30).join('\n'))
