// The vocabulary of the client-protocol state machine in parser.ts: one state per byte position
// in an op name or frame, and the bytes it switches on.

export const State = {
  OP_START: 0,
  OP_P: 1,
  OP_PU: 2,
  OP_PUB: 3,
  OP_PUB_SPC: 4,
  PUB_ARG: 5,
  OP_PI: 6,
  OP_PIN: 7,
  OP_PING: 8,
  OP_PO: 9,
  OP_PON: 10,
  OP_PONG: 11,
  OP_H: 12,
  OP_HP: 13,
  OP_HPU: 14,
  OP_HPUB: 15,
  OP_HPUB_SPC: 16,
  HPUB_ARG: 17,
  OP_S: 18,
  OP_SU: 19,
  OP_SUB: 20,
  OP_SUB_SPC: 21,
  SUB_ARG: 22,
  OP_U: 23,
  OP_UN: 24,
  OP_UNS: 25,
  OP_UNSU: 26,
  OP_UNSUB: 27,
  OP_UNSUB_SPC: 28,
  UNSUB_ARG: 29,
  OP_C: 30,
  OP_CO: 31,
  OP_CON: 32,
  OP_CONN: 33,
  OP_CONNE: 34,
  OP_CONNEC: 35,
  OP_CONNECT: 36,
  CONNECT_ARG: 37,
  OP_I: 38,
  OP_IN: 39,
  OP_INF: 40,
  OP_INFO: 41,
  INFO_ARG: 42,
  MSG_PAYLOAD: 43,
  MSG_END_R: 44,
  MSG_END_N: 45,
  OP_PLUS: 46,
  OP_PLUS_O: 47,
  OP_PLUS_OK: 48,
  /** After a fatal error: everything else is ignored. */
  DEAD: 49,
} as const

export type ParserState = (typeof State)[keyof typeof State]

export const CR = 13
export const LF = 10
export const SPACE = 32
export const TAB = 9

/** Lower-cases an ASCII letter byte (protocol ops are case-insensitive). */
export const lc = (b: number): number => (b >= 65 && b <= 90 ? b | 0x20 : b)

export function isSpace(b: number): boolean {
  return b === SPACE || b === TAB
}

/** Shared empty payload, so a parser at rest holds no chunk alive. */
export const EMPTY = Buffer.alloc(0)
