// The peers' CPU time for bench/mapreduce: a shell command run with bash's `times` after it.
import { spawn } from 'node:child_process'

/** Runs a shell command and returns its children's CPU seconds (from `times`). */
export function shell(cmd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `${cmd}\ntimes`], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`${cmd} exited ${code}`)); return }
      // `times` prints shell then children: "0m0.001s 0m0.002s\n1m2.5s 0m0.3s"
      const lines = out.trim().split('\n')
      const secs = (lines[lines.length - 1] ?? '').split(' ').map((t) => { const m = /(\d+)m([\d.]+)s/.exec(t); return m ? Number(m[1]) * 60 + Number(m[2]) : 0 })
      resolve(secs.reduce((a, b) => a + b, 0))
    })
  })
}
