// The loopback helpers live with the tests (test/_lib/net.ts); benchmarks use the same ones.
export { freePort, waitForPort, type WaitForPortOptions } from '../../test/_lib/net.js'
