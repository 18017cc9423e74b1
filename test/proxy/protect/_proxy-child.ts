// Child process for multi-process tests: starts a ProxyServer (builtin plugins) from the JSON
// config in argv[2], prints its port, runs until killed.
import { ProxyServer, resolveProxyConfig } from '../../../src/proxy/index.js'

const config = resolveProxyConfig(JSON.parse(process.argv[2] as string))
const proxy = new ProxyServer({ config, shutdownGraceMs: 200 })
await proxy.start()
process.stdout.write(`PORT ${proxy.listeners[0]?.port}\n`)
process.on('SIGTERM', () => {
  void proxy.close().then(() => process.exit(0))
})
