// Child process for lazy-modules.test.ts: records every module this process loads (ESM through a
// load hook, CommonJS through require.cache), starts the broker with the options given as JSON in
// argv[2], and prints the list as JSON on stdout. Run as `node --import tsx _module-probe.ts '{...}'`.
import { createRequire, register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
const esm = new Set<string>()
port1.on('message', (url: string) => esm.add(url))
port1.unref()
const hooks = `let port
export function initialize(data) { port = data.port }
export async function load(url, context, next) {
  if (!url.startsWith('node:')) port.postMessage(url)
  return next(url, context)
}`
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] })

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>
const { startBroker } = await import('../../src/broker/index.js')
const broker = await startBroker({ host: '127.0.0.1', port: 0, ...options })
// The hook thread posts asynchronously: give its last messages a moment to arrive.
await new Promise((r) => setTimeout(r, 200))
const cjs = Object.keys(createRequire(import.meta.url).cache)
await broker.close()
process.stdout.write(`${JSON.stringify([...esm, ...cjs])}\n`)
