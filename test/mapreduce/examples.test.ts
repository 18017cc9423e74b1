// Every example in examples/ runs through `switchyard run` on small generated data and its output
// is checked against a plain in-process computation.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeCorpus } from './fixtures/corpus.js'
import { CLI } from '../_lib/node-args.js'

const exec = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
let dir: string

before(() => { dir = mkdtempSync(join(tmpdir(), 'sy-examples-')) })
after(() => rmSync(dir, { recursive: true, force: true }))

async function run(example: string, args: string[]): Promise<string> {
  const r = await exec(process.execPath, [...CLI, 'run', `examples/${example}`, '--workers', '2', '--quiet', '--', ...args], { cwd: root, maxBuffer: 64 << 20 })
  return r.stdout
}

function outputLines(out: string): string[] {
  assert.ok(existsSync(join(out, '_SUCCESS')), 'no _SUCCESS')
  return readdirSync(out).filter((f) => f.startsWith('part-')).sort().flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''))
}

function wordCounts(files: string[]): Map<string, number> {
  const m = new Map<string, number>()
  for (const f of files) for (const w of readFileSync(f, 'utf8').split(/\s+/)) if (w !== '') m.set(w, (m.get(w) ?? 0) + 1)
  return m
}

test('wordcount and top-k', async () => {
  const files = makeCorpus(join(dir, 'corpus'), 3, 800, 5)
  const ref = wordCounts(files)
  await run('wordcount.ts', [join(dir, 'corpus'), join(dir, 'wc')])
  const got = new Map(outputLines(join(dir, 'wc')).map((l) => { const [w, n] = l.split('\t'); return [w as string, Number(n)] }))
  assert.deepEqual(got, ref)
  const top = JSON.parse(await run('top-k.ts', [join(dir, 'corpus'), '7'])) as [string, number][]
  const refTop = [...ref].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 7)
  assert.deepEqual(top, refTop)
})

test('inverted index', async () => {
  const docs = [
    { id: 'd1', text: 'The quick brown fox' },
    { id: 'd2', text: 'the lazy dog, the end' },
    { id: 'd3', text: 'Quick! A dog.' },
  ]
  writeFileSync(join(dir, 'docs.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'))
  await run('inverted-index.ts', [join(dir, 'docs.jsonl'), join(dir, 'index')])
  const got = outputLines(join(dir, 'index')).map((l) => JSON.parse(l) as [string, string[]])
  const ref = new Map<string, Set<string>>()
  for (const d of docs) for (const w of d.text.toLowerCase().split(/[^a-z0-9]+/)) if (w) ref.set(w, (ref.get(w) ?? new Set()).add(d.id))
  assert.deepEqual(got, [...ref].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, ids]) => [w, [...ids].sort()]))
})

test('CSV join', async () => {
  writeFileSync(join(dir, 'users.csv'), 'id,name\n1,ann\n2,bob\n3,"cho, c"\n4,dan\n')
  const orders = ['order_id,user_id,amount']
  const totals = new Map<string, number>()
  const names = ['ann', 'bob', 'cho, c']
  for (let i = 0; i < 300; i++) {
    const u = 1 + (i % 3)
    const amount = (i * 37) % 100 + 0.25
    orders.push(`${i},${u},${amount}`)
    totals.set(names[u - 1] as string, (totals.get(names[u - 1] as string) ?? 0) + amount)
  }
  orders.push('999,77,5')
  writeFileSync(join(dir, 'orders.csv'), `${orders.join('\n')}\n`)
  await run('csv-join.ts', [join(dir, 'users.csv'), join(dir, 'orders.csv'), join(dir, 'joined')])
  assert.deepEqual(outputLines(join(dir, 'joined')), [...totals].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([n, t]) => `${n},${t.toFixed(2)}`))
})

test('sort of gensort-style 100-byte records', async () => {
  let s = 99
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32 }
  const lines: string[] = []
  for (let i = 0; i < 5000; i++) {
    let key = ''
    for (let j = 0; j < 10; j++) key += String.fromCharCode(32 + Math.floor(rand() * 95))
    lines.push(`${key}  ${i.toString(16).padStart(32, '0')}  ${'ABCD'.repeat(13)}`.padEnd(98, 'x'))
  }
  writeFileSync(join(dir, 'records'), lines.map((l) => `${l}\r\n`).join(''))
  await run('sort.ts', [join(dir, 'records'), join(dir, 'sorted'), '3'])
  const ref = lines.map((l, i) => [l.slice(0, 10), i, l] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1])).map((x) => x[2])
  assert.deepEqual(outputLines(join(dir, 'sorted')), ref)
})

test('PageRank', async () => {
  const edges: [string, string][] = []
  for (let i = 0; i < 40; i++) for (const d of [(i * 7 + 1) % 40, (i * 3 + 2) % 40, (i + 1) % 40]) edges.push([`p${i}`, `p${d}`])
  edges.push(['p1', 'p2'])
  writeFileSync(join(dir, 'edges'), edges.map((e) => e.join(' ')).join('\n'))
  await run('pagerank.ts', [join(dir, 'edges'), '5', join(dir, 'ranks')])
  const links = new Map<string, string[]>()
  for (const [s, d] of edges) { const l = links.get(s) ?? []; if (!l.includes(d)) l.push(d); links.set(s, l) }
  let ranks = new Map([...links.keys()].map((k) => [k, 1]))
  for (let it = 0; it < 5; it++) {
    const sums = new Map<string, number>()
    for (const [s, urls] of links) { const r = ranks.get(s); if (r === undefined) continue; for (const u of urls) sums.set(u, (sums.get(u) ?? 0) + r / urls.length) }
    ranks = new Map([...sums].map(([k, v]) => [k, 0.15 + 0.85 * v]))
  }
  const got = outputLines(join(dir, 'ranks')).map((l) => l.split('\t'))
  assert.equal(got.length, ranks.size)
  for (const [page, rank] of got) assert.ok(Math.abs(Number(rank) - (ranks.get(page as string) ?? NaN)) < 1e-6, `rank of ${page}`)
  const values = got.map((g) => Number(g[1]))
  assert.deepEqual(values, [...values].sort((a, b) => b - a))
})

test('switchyard run: a job file without a default export, and a missing file, fail with codes', async () => {
  writeFileSync(join(dir, 'bad-job.ts'), 'export const x = 1\n')
  await assert.rejects(exec(process.execPath, [...CLI, 'run', join(dir, 'bad-job.ts')], { cwd: root }), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1)
    assert.match(err.stderr, /ERR_JOB_BAD_JOB_FILE/)
    return true
  })
  await assert.rejects(exec(process.execPath, [...CLI, 'run'], { cwd: root }), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2)
    assert.match(err.stderr, /Missing job file/)
    return true
  })
})

test('switchyard run --summary-json writes the job summaries', async () => {
  writeFileSync(join(dir, 'small-job.ts'), "export default async (sc: { range(n: number): { count(): Promise<number> } }) => sc.range(10).count()\n")
  const summary = join(dir, 'summary.json')
  const r = await exec(process.execPath, [...CLI, 'run', join(dir, 'small-job.ts'), '--workers', '1', '--summary-json', summary], { cwd: root })
  assert.equal(r.stdout.trim(), '10')
  assert.match(r.stderr, /count: succeeded/)
  const jobs = JSON.parse(readFileSync(summary, 'utf8')) as { action: string; status: string; stages: unknown[] }[]
  assert.equal(jobs[0]?.action, 'count')
  assert.equal(jobs[0]?.status, 'succeeded')
})
