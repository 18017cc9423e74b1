// Certificates of an https listener: PEM pairs loaded into secure contexts and indexed by SNI
// name (exact and `*.` wildcard); a self-signed localhost pair when the listener names none.
import { readFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { createSecureContext, type SecureContext } from 'node:tls'
import { ProxyError, ProxyErrorCodes } from './errors.js'
import type { ListenerConfig } from './config.js'

export interface CertPair {
  cert: string
  key: string
}

export class CertStore {
  readonly #exact = new Map<string, SecureContext>()
  readonly #wildcard = new Map<string, SecureContext>()
  readonly defaultPair: CertPair
  readonly defaultContext: SecureContext
  /** Files the store was built from (watched for hot reload). */
  readonly files: readonly string[]

  constructor(pairs: readonly { pair: CertPair; hosts: readonly string[] }[], minVersion: 'TLSv1.2' | 'TLSv1.3', files: readonly string[]) {
    const first = pairs[0]
    if (first === undefined) throw new ProxyError(ProxyErrorCodes.TLS_CERT, 'Cannot build TLS listener: no certificate')
    this.files = files
    this.defaultPair = first.pair
    let def: SecureContext | undefined
    for (const { pair, hosts } of pairs) {
      const ctx = createSecureContext({ cert: pair.cert, key: pair.key, minVersion })
      def ??= ctx
      for (const h of hosts) {
        const name = h.toLowerCase()
        if (name.startsWith('*.')) {
          if (!this.#wildcard.has(name.slice(2))) this.#wildcard.set(name.slice(2), ctx)
        } else if (!this.#exact.has(name)) this.#exact.set(name, ctx)
      }
    }
    this.defaultContext = def as SecureContext
  }

  lookup(servername: string): SecureContext {
    const name = servername.toLowerCase()
    const exact = this.#exact.get(name)
    if (exact !== undefined) return exact
    const dot = name.indexOf('.')
    if (dot > 0) {
      const wild = this.#wildcard.get(name.slice(dot + 1))
      if (wild !== undefined) return wild
    }
    return this.defaultContext
  }
}

function namesOf(certPem: string): string[] {
  const x = new X509Certificate(certPem)
  const names: string[] = []
  for (const part of (x.subjectAltName ?? '').split(',')) {
    const t = part.trim()
    if (t.startsWith('DNS:')) names.push(t.slice(4))
  }
  const cn = /CN=([^\n,]+)/.exec(x.subject)?.[1]
  if (cn !== undefined && !names.includes(cn)) names.push(cn)
  return names
}

let selfSigned: Promise<CertPair> | undefined

/** One self-signed localhost certificate per process, generated on first use. */
export function selfSignedPair(): Promise<CertPair> {
  // selfsigned is loaded only here: with its X.509 stack it is about 200 modules and 0.25 s of CPU
  // that every proxy process paid at start-up, though only a TLS listener without a certificate uses it.
  selfSigned ??= import('selfsigned').then(({ generate }) => generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  } as Parameters<typeof generate>[1])).then((r) => ({ cert: r.cert, key: r.private }))
  return selfSigned
}

export async function loadCertStore(listener: ListenerConfig): Promise<CertStore> {
  const entries: { pair: CertPair; hosts: string[] }[] = []
  const files: string[] = []
  for (const [i, c] of listener.tls.certs.entries()) {
    let pair: CertPair
    try {
      pair = { cert: readFileSync(c.cert, 'utf8'), key: readFileSync(c.key, 'utf8') }
      files.push(c.cert, c.key)
      entries.push({ pair, hosts: c.hosts === undefined ? namesOf(pair.cert) : [...c.hosts] })
    } catch (err) {
      throw new ProxyError(ProxyErrorCodes.TLS_CERT, `Cannot load certificate listeners[${listener.name ?? listener.port}].tls.certs[${i}]: ${(err as Error).message}`, { cause: err })
    }
  }
  if (entries.length === 0) entries.push({ pair: await selfSignedPair(), hosts: ['localhost'] })
  try {
    return new CertStore(entries, listener.tls.minVersion, files)
  } catch (err) {
    if (err instanceof ProxyError) throw err
    throw new ProxyError(ProxyErrorCodes.TLS_CERT, `Cannot use certificate of listener ${listener.name ?? listener.port}: ${(err as Error).message}`, { cause: err })
  }
}
