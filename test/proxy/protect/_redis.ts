// Starts a real redis-server on a free loopback port for a test, and can kill/restart it.
import { spawn, type ChildProcess } from 'node:child_process'
import { freePort } from '../../_lib/net.js'

export class TestRedis {
  readonly port: number
  #child: ChildProcess | undefined

  private constructor(port: number) {
    this.port = port
  }

  static async start(port?: number): Promise<TestRedis> {
    const r = new TestRedis(port ?? (await freePort()))
    await r.restart()
    return r
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const t = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 5000)
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('Ready to accept connections')) {
          clearTimeout(t)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(t)
        reject(new Error(`redis-server exited with ${code}: ${out}`))
      })
    })
    child.removeAllListeners('exit')
  }

  /** SIGKILL, as in a crash; resolves when the process is gone. */
  async kill(): Promise<void> {
    const c = this.#child
    this.#child = undefined
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGKILL')
    })
  }

  async stop(): Promise<void> {
    await this.kill()
  }
}
