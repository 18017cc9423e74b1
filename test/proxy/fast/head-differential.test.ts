// Differential check of the fast path's strict head parser against node:http (llhttp, strict mode,
// the parser the proxy falls back to): for generated heads, many of them malformed in the ways
// request smuggling uses (bare LF, obs-fold, spaces and controls in names/targets, duplicate or
// odd framing fields), whatever the fast parser accepts must be accepted by node:http too, with the
// same method, target and header fields. A head the fast path accepted but node would refuse, or
// read differently, is a desync between the two paths.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import fc from 'fast-check'
import { parseRequestHead, type FastHead } from '../../../src/proxy/fast/request-head.js'

const LIMITS = { maxHeaderBytes: 16 * 1024, maxHeaders: 100 }

interface NodeView {
  method: string
  url: string
  rawHeaders: string[]
}

/** Sends one head to a node:http server (the proxy's options) and reports how node read it. */
async function withNodeParser(run: (parse: (head: string) => Promise<NodeView | 'error'>) => Promise<void>): Promise<void> {
  let pending: ((v: NodeView | 'error') => void) | undefined
  const server = createServer({ insecureHTTPParser: false, keepAlive: true }, (req: IncomingMessage, res) => {
    pending?.({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders })
    pending = undefined
    res.end()
  })
  server.on('clientError', (_err, socket) => {
    pending?.('error')
    pending = undefined
    socket.destroy()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  try {
    await run(
      (head) =>
        new Promise<NodeView | 'error'>((resolve) => {
          pending = resolve
          const s = connect(port, '127.0.0.1', () => s.end(Buffer.from(head, 'latin1')))
          s.on('error', () => {})
          s.on('close', () => {
            // Closed without a request or a parse error: node did not take it as a request.
            if (pending === resolve) {
              pending = undefined
              resolve('error')
            }
          })
          s.resume()
        }),
    )
  } finally {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  }
}

const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs)
const chars = (alphabet: string, max: number): fc.Arbitrary<string> =>
  fc.array(pick([...alphabet]), { minLength: 0, maxLength: max }).map((a) => a.join(''))

const NASTY = ' \t\r\n\x00\x0b\x7f\x80\xff:;,"/\\#?'
// Each part is mostly valid (weight 4) so that a head usually has only one odd part, which the
// fast parser must then either decline or read exactly as node does.
const mostly = <T>(good: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: odd })
const method = mostly(pick(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']), pick(['get', 'CONNECT', 'PRI', 'G ET', 'GET\t']))
const target = mostly(
  chars('/abcXYZ019-._~%?=&', 20).map((s) => `/${s}`),
  fc.oneof(chars(`/abc%?=${NASTY}`, 12).map((s) => `/${s}`), pick(['*', 'http://a.test/x', 'a', '', '//x'])),
)
const version = mostly(fc.constant('HTTP/1.1'), pick(['HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11']))
const name = mostly(
  pick(['Host', 'X-A', 'Accept', 'Cookie', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Expect', 'TE', 'host', 'X-b']),
  chars(`abcXYZ-_!#$%&'*+.^\`|~${NASTY}`, 8),
)
const value = mostly(
  fc.oneof(chars('abc XYZ019-,;=/', 16), pick(['0', '1', '00', '+0', '0, 0', 'chunked', 'close', 'keep-alive, close', 'upgrade', ' a ', '\ta\t'])),
  chars(`abc0${NASTY}`, 10),
)
const eol = fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: pick(['\n', '\r', '\r\r\n', ' \r\n']) })
const field = fc.tuple(name, mostly(pick([':', ': ', ':\t']), pick([' :', '', '::'])), value, eol).map(([n, sep, v, e]) => `${n}${sep}${v}${e}`)
const foldedField = fc.tuple(name, value, value).map(([n, a, b]) => `${n}: ${a}\r\n ${b}\r\n`)

const head = fc
  .tuple(
    method,
    mostly(fc.constant(' '), pick(['  ', '\t'])),
    target,
    mostly(fc.constant(' '), pick(['  ', '\t'])),
    version,
    eol,
    fc.boolean(),
    fc.array(fc.oneof({ weight: 6, arbitrary: field }, { weight: 1, arbitrary: foldedField }), { maxLength: 6 }),
  )
  .map(([m, s1, t, s2, v, e, withHost, fields]) => `${m}${s1}${t}${s2}${v}${e}${withHost ? 'Host: a.test\r\n' : ''}${fields.join('')}\r\n`)

// Mostly-valid heads, so that a good share is accepted by the fast parser and compared.
const wellFormed = fc
  .tuple(pick(['GET', 'HEAD', 'DELETE', 'OPTIONS']), chars('/abc019-._~%?=&', 20), fc.array(fc.tuple(pick(['X-A', 'Accept', 'Cookie', 'X-B', 'Content-Length', 'Connection']), chars('abc XYZ019-,;=/\t', 12)), { maxLength: 5 }))
  .map(([m, t, fields]) => `${m} /${t} HTTP/1.1\r\nHost: a.test\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`)

test('whatever the fast head parser accepts, node:http accepts and reads the same way', async () => {
  let accepted = 0
  let compared = 0
  await withNodeParser(async (nodeParse) => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: head }, { weight: 1, arbitrary: wellFormed }), async (text) => {
        const fast = parseRequestHead(Buffer.from(text, 'latin1'), 0, LIMITS)
        if (typeof fast !== 'object') return
        accepted++
        const seen = await nodeParse(text)
        compared++
        assert.notEqual(seen, 'error', `fast path accepted a head node:http rejects: ${JSON.stringify(text)}`)
        const n = seen as NodeView
        const f = fast as FastHead
        assert.equal(f.end, Buffer.byteLength(text, 'latin1'), 'the head ends where node says it ends')
        assert.equal(f.method, n.method)
        assert.equal(f.url, n.url)
        assert.deepEqual(f.rawHeaders, n.rawHeaders)
      }),
      { numRuns: 2000, seed: 20261127 },
    )
  })
  // The generators must reach the accepting branch often enough for the comparison to mean something.
  assert.ok(accepted >= 200, `only ${accepted} generated heads were accepted by the fast parser`)
  assert.equal(compared, accepted)
})
