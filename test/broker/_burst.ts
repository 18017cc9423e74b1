// Drives _burst-client.ts child processes from the burst tests: subscriber groups that report
// their per-connection counts, and a publisher that sends a burst and exits.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runTs } from '../_lib/node-args.js'

const script = fileURLToPath(new URL('./_burst-client.ts', import.meta.url))
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function until(cond: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await delay(5)
  }
}

export class BurstChild {
  readonly child: ChildProcess
  counts: number[] = []
  closed = new Set<number>()
  ready = false
  published = -1
  exited = false
  #buf = ''

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...runTs(script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.child.stdout?.on('data', (d: Buffer) => {
      this.#buf += d.toString()
      let nl: number
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        this.#line(this.#buf.slice(0, nl))
        this.#buf = this.#buf.slice(nl + 1)
      }
    })
    this.child.once('exit', () => (this.exited = true))
  }

  #line(line: string): void {
    if (line === 'READY') this.ready = true
    else if (line.startsWith('COUNT ')) this.counts = line.slice(6).split(',').map(Number)
    else if (line.startsWith('CLOSED ')) this.closed.add(Number(line.slice(7)))
    else if (line.startsWith('PUBLISHED ')) this.published = Number(line.slice(10))
  }

  static async subscribers(port: number, subject: string, conns: number, name: string): Promise<BurstChild> {
    const c = new BurstChild(['sub', String(port), subject, String(conns), name])
    await until(() => c.ready || c.exited, 30_000, `${name} subscribers to connect`)
    if (!c.ready) throw new Error(`${name} subscriber process exited before READY`)
    return c
  }

  static publisher(port: number, subject: string, count: number, size: number, flushEvery: number): BurstChild {
    return new BurstChild(['pub', String(port), subject, String(count), String(size), String(flushEvery)])
  }

  get total(): number {
    let t = 0
    for (const n of this.counts) t += n
    return t
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(sig)
  }

  async stop(): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()))
    // A stopped process must be continued before it can handle anything but SIGKILL.
    this.child.kill('SIGKILL')
    await gone
  }
}
