// Child process for lazy-modules.test.ts: records every module this process loads (ESM through a
// load hook, CommonJS through require.cache), starts a proxy with the config given as JSON in
// argv[2] and the builtin plugins, and prints the list as JSON on stdout.
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

const input = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>
const { ProxyServer, builtinPlugins, resolveProxyConfig } = await import('../../src/proxy/index.js')
const proxy = new ProxyServer({ config: resolveProxyConfig({ accessLog: { enabled: false }, ...input } as Parameters<typeof resolveProxyConfig>[0]), plugins: builtinPlugins, shutdownGraceMs: 100 })
await proxy.start()
// The hook thread posts asynchronously: give its last messages a moment to arrive.
await new Promise((r) => setTimeout(r, 200))
const cjs = Object.keys(createRequire(import.meta.url).cache)
await proxy.close()
process.stdout.write(`${JSON.stringify([...esm, ...cjs])}\n`)
process.exit(0)
