// The request head the fast upstream client writes: built in one string from undici's dispatch
// options, or undefined when the request needs undici's own rules (framing and connection headers,
// a body, names or values it must not write verbatim), so undici sends that request instead.

import { isFieldValue, isToken, isVisibleAscii } from './field-chars.js'

export function serializeRequestHead(method: string, path: string, headers: Record<string, string | string[] | undefined> | undefined, hostHeader: string): string | undefined {
  if (!isVisibleAscii(path) || !isToken(method)) return undefined
  let s = `${method} ${path} HTTP/1.1\r\n`
  let host = false
  let cl = false
  if (headers !== undefined) {
    for (const name in headers) {
      const v = headers[name]
      if (v === undefined) continue
      if (!isToken(name)) return undefined
      const lower = name.toLowerCase()
      switch (lower) {
        case 'host':
          host = true
          break
        case 'content-length':
          if (v !== '0') return undefined
          cl = true
          break
        case 'transfer-encoding':
        case 'connection':
        case 'keep-alive':
        case 'upgrade':
        case 'expect':
          // undici has rules for these; let it apply them.
          return undefined
      }
      if (typeof v === 'string') {
        if (!isFieldValue(v)) return undefined
        s += `${name}: ${v}\r\n`
      } else {
        for (const x of v) {
          if (!isFieldValue(x)) return undefined
          s += `${name}: ${x}\r\n`
        }
      }
    }
  }
  if (!host) s += `host: ${hostHeader}\r\n`
  if (!cl && (method === 'POST' || method === 'PUT' || method === 'PATCH')) s += 'content-length: 0\r\n'
  return `${s}\r\n`
}
