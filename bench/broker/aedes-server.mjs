// Aedes (MQTT broker on Node.js) as a bench peer, in its own process: prints `READY <port>`.
import { createServer } from 'node:net'
import { Aedes } from 'aedes'

const aedes = await Aedes.createBroker()
const server = createServer(aedes.handle)
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address()).port}\n`))
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    server.close()
    aedes.close(() => process.exit(0))
  })
}
