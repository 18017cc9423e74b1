// Placeholder until the subsystem's issue lands: says so and exits 1.
import type { Command } from '../commands.js'

export const command: Command = {
  help: 'Usage: switchyard broker [options]\n\nNot available yet in this build.',
  async run() {
    process.stderr.write('switchyard broker: not available yet in this build\n')
    return 1
  },
}
