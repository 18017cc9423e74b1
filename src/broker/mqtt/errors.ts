// MQTT front-end errors: one class with a stable code (docs/errors.md) and the MQTT 5 reason code
// the connection is closed with (3.1.1 clients just see the connection close).
import { SwitchyardError, type SwitchyardErrorOptions } from '../../internal/errors.js'

export const MqttErrorCodes = {
  /** Bytes that do not form a packet: bad lengths, truncated fields, invalid UTF-8, reserved bits. */
  MALFORMED: 'ERR_BROKER_MQTT_MALFORMED',
  /** A well-formed packet the protocol does not allow here (second CONNECT, bad topic filter, ...). */
  PROTOCOL: 'ERR_BROKER_MQTT_PROTOCOL',
  /** A packet larger than the configured maximum. */
  TOO_LARGE: 'ERR_BROKER_MQTT_TOO_LARGE',
} as const

export type MqttErrorCode = (typeof MqttErrorCodes)[keyof typeof MqttErrorCodes]

/** MQTT 5 reason codes this broker sends (section 2.4 of the specification). */
export const Reason = {
  SUCCESS: 0x00,
  GRANTED_QOS_1: 0x01,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED: 0x80,
  MALFORMED: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_ID_NOT_VALID: 0x85,
  BAD_USER_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTH_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_ID_IN_USE: 0x91,
  PACKET_ID_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
  QOS_NOT_SUPPORTED: 0x9b,
  SUBSCRIPTION_IDS_NOT_SUPPORTED: 0xa1,
} as const

export class MqttError extends SwitchyardError {
  /** The MQTT 5 reason code for a DISCONNECT (or CONNACK before the session exists). */
  readonly reasonCode: number

  constructor(code: MqttErrorCode, reasonCode: number, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
    this.reasonCode = reasonCode
  }
}

export function malformed(message: string): MqttError {
  return new MqttError(MqttErrorCodes.MALFORMED, Reason.MALFORMED, message)
}

export function protocolError(message: string, reasonCode: number = Reason.PROTOCOL_ERROR): MqttError {
  return new MqttError(MqttErrorCodes.PROTOCOL, reasonCode, message)
}
