// Child process for lazy-modules.test.ts: starts a proxy with the config given as JSON in argv[2]
// and the builtin plugins, and prints every module it loaded as JSON on stdout.
import { recordModules } from '../_lib/module-recorder.js'

const loaded = recordModules()
const input = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>
const { ProxyServer, builtinPlugins, resolveProxyConfig } = await import('../../src/proxy/index.js')
const proxy = new ProxyServer({ config: resolveProxyConfig({ accessLog: { enabled: false }, ...input } as Parameters<typeof resolveProxyConfig>[0]), plugins: builtinPlugins, shutdownGraceMs: 100 })
await proxy.start()
const modules = await loaded()
await proxy.close()
process.stdout.write(`${JSON.stringify(modules)}\n`)
process.exit(0)
