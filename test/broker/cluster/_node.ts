// A Switchyard broker node in its own process for fault tests: options as JSON in argv[2].
import { startBroker } from '../../../src/broker/index.js'

const broker = await startBroker(JSON.parse(process.argv[2] as string) as Parameters<typeof startBroker>[0])
process.stdout.write(`READY ${broker.port} ${broker.cluster?.port ?? 0}\n`)
process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)))
