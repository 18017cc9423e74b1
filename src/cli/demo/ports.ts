// Port selection for the demo: use the well-known default when it is free, else any free port.
import { createServer } from 'node:net'

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, host, () => srv.close(() => resolve(true)))
  })
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** The preferred port if nothing listens on it, else a free one chosen by the kernel. */
export async function choosePort(preferred: number, host = '127.0.0.1', taken: Set<number> = new Set()): Promise<number> {
  if (preferred > 0 && !taken.has(preferred) && (await isPortFree(preferred, host))) {
    taken.add(preferred)
    return preferred
  }
  for (;;) {
    const p = await freePort(host)
    if (!taken.has(p)) {
      taken.add(p)
      return p
    }
  }
}
