// MQTT front-end options (`startBroker({ mqtt })`, `--mqtt-port`, YAML `mqtt:`): one DEFAULTS
// table with units, resolved and checked once.
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import { intOption, knownKeysOnly } from '../../internal/option-check.js'

export interface MqttOptions {
  /** MQTT over TCP; 0 picks a free port. */
  port: number
  /** Defaults to the broker's host. */
  host?: string
  /** MQTT over WebSocket (subprotocol `mqtt`). */
  websocket?: { port: number; host?: string }
  /** QoS 1/2 messages sent and not yet completed, per connection (lowered by a 5.0 client's Receive Maximum). */
  maxInflight?: number
  /** QoS 1/2 messages kept per session beyond the in-flight window (also while offline); newer ones are dropped. */
  maxQueuedMessages?: number
  /** A connection that has not sent CONNECT by then is closed. */
  connectTimeoutMs?: number
}

export const MQTT_DEFAULTS = {
  maxInflight: 20, // as mosquitto's max_inflight_messages
  maxQueuedMessages: 1000, // as mosquitto's max_queued_messages
  connectTimeoutMs: 10_000, // 10 s
} as const

export interface ResolvedMqttOptions {
  port: number
  host: string | undefined
  websocket: { port: number; host?: string } | undefined
  maxInflight: number
  maxQueuedMessages: number
  connectTimeoutMs: number
}

function bad(message: string): never {
  throw new BrokerError(BrokerErrorCodes.OPTIONS, message)
}
const int = (name: string, value: unknown, min: number, max: number): number => intOption(bad, `mqtt.${name}`, value, min, max)
const KNOWN = new Set(['port', 'host', 'websocket', 'maxInflight', 'maxQueuedMessages', 'connectTimeoutMs'])

export function resolveMqttOptions(o: MqttOptions): ResolvedMqttOptions {
  knownKeysOnly(bad, 'mqtt', o, KNOWN)
  return {
    port: int('port', o.port, 0, 65535),
    host: o.host,
    websocket: o.websocket === undefined ? undefined : { ...o.websocket, port: int('websocket.port', o.websocket.port, 0, 65535) },
    maxInflight: int('maxInflight', o.maxInflight ?? MQTT_DEFAULTS.maxInflight, 1, 65535),
    maxQueuedMessages: int('maxQueuedMessages', o.maxQueuedMessages ?? MQTT_DEFAULTS.maxQueuedMessages, 0, 10_000_000),
    connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs ?? MQTT_DEFAULTS.connectTimeoutMs, 1, 3_600_000),
  }
}
