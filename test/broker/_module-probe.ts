// Child process for lazy-modules.test.ts: starts the broker with the options given as JSON in
// argv[2] and prints every module it loaded as JSON on stdout. Run through `runTs` (test/_lib/node-args.ts).
import { recordModules } from '../_lib/module-recorder.js'

const loaded = recordModules()
const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>
const { startBroker } = await import('../../src/broker/index.js')
const broker = await startBroker({ host: '127.0.0.1', port: 0, ...options })
const modules = await loaded()
await broker.close()
process.stdout.write(`${JSON.stringify(modules)}\n`)
