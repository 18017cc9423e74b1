// bench/broker/cluster.ts: a 3-node cluster, publisher on node A, subscribers spread over B and C
// (N = 10 and 100; 128 B and 16 KiB), Switchyard against nats-server, each a 3-process cluster
// started the same way (B and C route to A). CPU per delivery and peak RSS are summed over the
// three processes. Usage: node --import tsx bench/broker/cluster.ts [--rounds R] [--quick] [--only TEXT]
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { fanOutWorkload, type FanOutCtx } from './fanout-workload.js'
import { freePort, startNatsNode, startOursNode, type Peer } from './peers.js'

const args = process.argv.slice(2)
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3
const quick = args.includes('--quick')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
const scale = args.includes('--scale') ? Number(args[args.indexOf('--scale') + 1]) || 1 : 1

type StartNode = (clusterPort: number, routes: string[]) => Promise<Peer>

const cluster = (name: string, startNode: StartNode): Contender<FanOutCtx> => ({
  name,
  async start() {
    const ports = [await freePort(), await freePort(), await freePort()]
    const seed = `nats-route://127.0.0.1:${ports[0]}`
    const a = await startNode(ports[0] as number, [])
    const b = await startNode(ports[1] as number, [seed])
    const c = await startNode(ports[2] as number, [seed])
    const nodes = [a, b, c]
    return {
      pids: nodes.map((n) => n.pid),
      async stop() {
        await Promise.all(nodes.map((n) => n.stop()))
      },
      ctx: { protocol: 'nats', pubPort: a.port, subPorts: [b.port, c.port], probe: true },
    }
  },
})

const contenders = [cluster('switchyard x3', startOursNode), cluster('nats-server x3', startNatsNode)].filter((c) => process.env['BENCH_ONLY_OURS'] !== '1' || c.name.startsWith('switchyard'))
const workloads: Workload<FanOutCtx>[] = []
for (const size of [128, 16 * 1024]) for (const n of [10, 100]) workloads.push(fanOutWorkload(n, size, { scale, quick }))
const selected = only === undefined ? workloads : workloads.filter((w) => w.name.includes(only))

await runBench({ name: 'broker-cluster', rounds, contenders, workloads: selected })
process.exit(0)
