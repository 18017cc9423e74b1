// Test helpers: real upstream servers on port 0 and a proxy built from a config object.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { Agent } from 'undici'
import { ProxyServer, resolveProxyConfig, type ProxyConfigInput, type ProxyServerOptions } from '../../src/proxy/index.js'

export interface Backend {
  server: Server
  url: string
  port: number
  hits: number
  name: string
  close(): Promise<void>
}

export async function backend(
  t: TestContext,
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse, b: Backend) => void,
  port = 0,
): Promise<Backend> {
  const b: Backend = { server: undefined as unknown as Server, url: '', port: 0, hits: 0, name, close: async () => {} }
  const server = createServer((req, res) => {
    b.hits++
    if (handler !== undefined) return handler(req, res, b)
    const body = JSON.stringify({ name, url: req.url, method: req.method, headers: req.headers })
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  b.server = server
  b.port = (server.address() as AddressInfo).port
  b.url = `http://127.0.0.1:${b.port}`
  let closed = false
  b.close = () => {
    if (closed) return Promise.resolve()
    closed = true
    return new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    })
  }
  t.after(() => b.close())
  return b
}

export async function startProxy(t: TestContext, input: ProxyConfigInput, extra: Partial<ProxyServerOptions> = {}): Promise<{ proxy: ProxyServer; url: string; port: number }> {
  const config = resolveProxyConfig({ accessLog: { enabled: false }, ...input })
  const proxy = new ProxyServer({ config, shutdownGraceMs: 200, plugins: [], ...extra })
  await proxy.start()
  t.after(() => proxy.close())
  const port = proxy.listeners[0]?.port ?? 0
  return { proxy, url: `http://127.0.0.1:${port}`, port }
}

export function agent(t: TestContext, opts: ConstructorParameters<typeof Agent>[0] = {}): Agent {
  const a = new Agent({ keepAliveTimeout: 10_000, ...opts })
  t.after(() => a.close())
  return a
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await cond()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Sends raw bytes over a fresh TCP connection and resolves with everything read until close. */
export async function rawExchange(port: number, text: string | Buffer, timeoutMs = 3000): Promise<string> {
  const { connect } = await import('node:net')
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const s = connect(port, '127.0.0.1', () => s.write(text))
    const timer = setTimeout(() => {
      s.destroy()
      resolve(Buffer.concat(chunks).toString('latin1'))
    }, timeoutMs)
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', reject)
    s.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
  })
}
