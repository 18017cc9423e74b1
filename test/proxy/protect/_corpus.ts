// A corpus of malformed and smuggling-shaped HTTP/1.1 requests. Each must get one 4xx answer
// from the proxy, reach no origin, and leave nothing behind on the connection for a following
// request to be parsed from.
const H = 'Host: app.test\r\n'
const body = 'Content-Length: 5\r\n'

function req(head: string, tail = ''): string {
  return `${head}\r\n\r\n${tail}`
}

const cases: [string, string][] = []
const add = (name: string, raw: string): void => {
  cases.push([name, raw])
}

// CL + TE in every spelling node or a back end might take as Transfer-Encoding.
for (const te of ['chunked', 'Chunked', 'CHUNKED', ' chunked', 'chunked ', '\tchunked', 'identity', 'gzip, chunked', 'chunked, identity', 'xchunked']) {
  add(`CL.TE ${JSON.stringify(te)}`, req(`POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding:${te}`, '0\r\n\r\nG'))
  add(`TE.CL ${JSON.stringify(te)}`, req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding:${te}\r\nContent-Length: 3`, '8\r\nSMUGGLED\r\n0\r\n\r\n'))
}
for (const name of ['Transfer-Encoding ', 'Transfer_Encoding', ' Transfer-Encoding', 'Transfer-Encoding\t', 'X: y\r\n Transfer-Encoding']) {
  add(`TE name ${JSON.stringify(name)}`, req(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n${name}: chunked`, '0\r\n\r\n'))
}
// Transfer codings a proxy must not pass on ambiguously.
for (const te of ['gzip, chunked', 'chunked, gzip', 'identity', 'xchunked', 'chunked, chunked', 'chunkedx', 'chunked;q=1', '"chunked"', 'deflate', '']) {
  add(`TE only ${JSON.stringify(te)}`, req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${te}`, '0\r\n\r\n'))
}
add('TE twice', req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked`, '0\r\n\r\n'))
add('TE split', req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked`, '0\r\n\r\n'))
add('TE in HTTP/1.0', req(`POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked`, '0\r\n\r\n'))
// Content-Length shapes.
for (const cl of ['5, 5', '5,6', '+5', '-5', '0x5', '5.0', ' 5 5', '5a', '', '99999999999999999999', '1e3', '010', '\u00b9']) {
  add(`CL ${JSON.stringify(cl)}`, req(`POST / HTTP/1.1\r\n${H}Content-Length: ${cl}`, 'hello'))
}
add('CL twice same', req(`POST / HTTP/1.1\r\n${H}${body}${body}`, 'hello'))
add('CL twice different', req(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6`, 'hello!'))
add('CL over max body', req(`POST / HTTP/1.1\r\n${H}Content-Length: 999999999999`, 'x'))
// Line endings and folding.
add('obs-fold value', req(`GET / HTTP/1.1\r\n${H}X-A: b\r\n c`))
add('obs-fold tab', req(`GET / HTTP/1.1\r\n${H}X-A: b\r\n\tc`))
add('obs-fold on CL', req(`POST / HTTP/1.1\r\n${H}Content-Length:\r\n 5`, 'hello'))
add('obs-fold on TE', req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked`, '0\r\n\r\n'))
add('bare LF line ends', 'GET / HTTP/1.1\nHost: app.test\n\n')
add('bare LF in headers', `GET / HTTP/1.1\r\nHost: app.test\nX: y\r\n\r\n`)
add('bare CR in header', `GET / HTTP/1.1\r\nHost: app.test\rX: y\r\n\r\n`)
add('bare CR in value', `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`)
add('bare CR request line', `GET / HTTP/1.1\r${H}\r\n`)
add('LF before headers end', `GET / HTTP/1.1\r\n${H}\n\r\n`)
add('CR CR LF', `GET / HTTP/1.1\r\r\n${H}\r\n`)
// Header names and values.
for (const name of ['X A', 'X-A ', '(X)', 'X@A', 'X\u0000A', 'X\u00e9', '', 'X\"A', 'X/A', 'X[A]', 'X{A}', 'X=A', 'X;A', 'X,A', 'X\\A', 'X?A']) {
  add(`header name ${JSON.stringify(name)}`, req(`GET / HTTP/1.1\r\n${H}${name}: v`))
}
for (const v of ['a\u0000b', 'a\u0001b', 'a\u007fb', 'a\u001bb', 'a\u0008b']) add(`header value ${JSON.stringify(v)}`, req(`GET / HTTP/1.1\r\n${H}X: ${v}`))
// Request line. (Not here: "GET  / HTTP/1.1" with two spaces, which llhttp accepts and which is
// harmless because the proxy never forwards raw bytes: undici writes a fresh request line.)
for (const line of [
  'get / HTTP/1.1',
  'GET / HTTP/1.1 ',
  'GET\t/ HTTP/1.1',
  'GET /',
  'GET / HTTP/2.0',
  'GET / HTTP/1.2',
  'GET / HTTP/0.9',
  'GET / http/1.1',
  'GET / HTTP/1.1x',
  'G@T / HTTP/1.1',
  ' GET / HTTP/1.1',
  'GET /a b HTTP/1.1',
  'GET /a\u0000 HTTP/1.1',
  'GET http://other.test/ HTTP/1.1',
  'GET http://app.test@other.test/ HTTP/1.1',
  'GET app.test/ HTTP/1.1',
  'GET * HTTP/1.1',
  'GET /#frag HTTP/1.1',
  'GET /a/../../etc/passwd HTTP/1.1',
  'GET /%2e%2e/%2e%2e/etc HTTP/1.1',
  'GET /a%2fb HTTP/1.1',
  'GET /a%5cb HTTP/1.1',
  'GET /a%00b HTTP/1.1',
  'GET /a%zz HTTP/1.1',
  'GET /a\\b HTTP/1.1',
  'GET /a%252e%252e/b HTTP/1.1',
  'GET /\u00e9 HTTP/1.1',
  'GET /a?b c HTTP/1.1',
  'GET /' + 'a'.repeat(9000) + ' HTTP/1.1',
]) {
  add(`request line ${JSON.stringify(line.slice(0, 40))}`, req(`${line}\r\n${H.slice(0, -2)}`))
}
// Host.
add('no Host in 1.1', req('GET / HTTP/1.1\r\nX: y'))
add('two Hosts', req(`GET / HTTP/1.1\r\n${H}Host: other.test`))
add('Host with space', req('GET / HTTP/1.1\r\nHost: app test'))
add('Host with @', req('GET / HTTP/1.1\r\nHost: user@app.test'))
add('Host with slash', req('GET / HTTP/1.1\r\nHost: app.test/x'))
add('Host empty and second', req('GET / HTTP/1.1\r\nHost:\r\nHost: app.test'))
// Size limits.
add('too many headers', req(`GET / HTTP/1.1\r\n${H}${Array.from({ length: 120 }, (_, i) => `X-${i}: v`).join('\r\n')}`))
add('header too large', req(`GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(20_000)}`))
// Chunked framing errors (the head is fine; the body is not).
for (const [name, chunks] of [
  ['size not hex', '1x\r\nx\r\n0\r\n\r\n'],
  ['size overflow', 'fffffffffffffffffff\r\nx\r\n0\r\n\r\n'],
  ['LF after size', '1\nx\r\n0\r\n\r\n'],
  ['missing CRLF after data', '1\r\nxx\r\n0\r\n\r\n'],
  ['bare LF in extension', '1;a\nb\r\nx\r\n0\r\n\r\n'],
  ['negative size', '-1\r\nx\r\n0\r\n\r\n'],
  ['space in size', '1 0\r\nx\r\n0\r\n\r\n'],
] as const) {
  add(`chunked ${name}`, req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked`, chunks))
}

export const CORPUS: readonly (readonly [string, string])[] = cases
