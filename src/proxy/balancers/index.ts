// Balancer factory: maps a config policy name to its implementation.
import type { Balancer, BalancerTarget } from './balancer.js'
import { ConsistentHashBalancer } from './consistent-hash.js'
import { LeastConnectionsBalancer } from './least-connections.js'
import { MaglevBalancer } from './maglev.js'
import { P2cEwmaBalancer } from './p2c-ewma.js'
import { RoundRobinBalancer } from './round-robin.js'
import { WeightedRoundRobinBalancer } from './weighted-round-robin.js'

export type { Balancer, BalancerTarget } from './balancer.js'
export { hash32 } from './balancer.js'

export const balancers = {
  'round-robin': <T extends BalancerTarget>(t: readonly T[]): Balancer<T> => new RoundRobinBalancer(t),
  'weighted-round-robin': <T extends BalancerTarget>(t: readonly T[]): Balancer<T> => new WeightedRoundRobinBalancer(t),
  'least-connections': <T extends BalancerTarget>(t: readonly T[]): Balancer<T> => new LeastConnectionsBalancer(t),
  'consistent-hash': <T extends BalancerTarget>(t: readonly T[]): Balancer<T> => new ConsistentHashBalancer(t),
  maglev: <T extends BalancerTarget>(t: readonly T[]): Balancer<T> => new MaglevBalancer(t),
  'p2c-ewma': <T extends BalancerTarget>(t: readonly T[]): Balancer<T> => new P2cEwmaBalancer(t),
} as const

export type BalancerPolicy = keyof typeof balancers

export function createBalancer<T extends BalancerTarget>(policy: BalancerPolicy, targets: readonly T[]): Balancer<T> {
  return balancers[policy](targets)
}
