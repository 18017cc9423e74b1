// Test helper: a self-signed certificate pair on disk for https/h2 listeners.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generate } from 'selfsigned'

export async function certFiles(name = 'app.test', dir = mkdtempSync(join(tmpdir(), 'sy-tls-'))): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }] }],
  } as Parameters<typeof generate>[1])
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  writeFileSync(cert, pems.cert)
  writeFileSync(key, pems.private)
  return { cert, key }
}
