// Peer: fastify + @fastify/http-proxy (undici upstream), installed in bench/proxy's own package.
// Usage: node fastify-proxy.mjs PORT ORIGIN [TLS_CERT TLS_KEY]
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const [port, origin, cert, key] = process.argv.slice(2)
const app = Fastify({ logger: false, keepAliveTimeout: 30_000, ...(cert ? { https: { cert: readFileSync(cert), key: readFileSync(key) } } : {}) })
await app.register(proxy, { upstream: origin, undici: { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 } })
await app.listen({ port: Number(port), host: '127.0.0.1' })
process.stdout.write('ready\n')
