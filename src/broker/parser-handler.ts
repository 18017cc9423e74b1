// What the client-protocol parser reports to its owner (a Client, or a test recorder) and the
// limits it enforces before allocating anything.

/** Why parsing stopped. Every parse error is fatal for the connection. */
export const ParseError = {
  UNKNOWN_OP: 'unknown_op',
  MAX_CONTROL_LINE: 'max_control_line',
  MAX_PAYLOAD: 'max_payload',
  BAD_ARGS: 'bad_args',
} as const

export type ParseErrorKind = (typeof ParseError)[keyof typeof ParseError]

export interface ParserHandler {
  onConnect(json: string): void
  /** hdrLen is -1 for PUB. `payload` holds header block + body and is only valid during the call. */
  onPub(subject: string, reply: string, hdrLen: number, payload: Buffer): void
  onSub(subject: string, queue: string | undefined, sid: string): void
  onUnsub(sid: string, max: number): void
  onPing(): void
  onPong(): void
  onParseError(kind: ParseErrorKind, detail: string): void
}

export interface ParserLimits {
  maxControlLine: number
  maxPayload: number
}
