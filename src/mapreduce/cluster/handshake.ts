// Mutual HMAC-SHA256 challenge-response on every cluster socket. The accepting side sends a
// nonce; the connecting side answers with its own nonce and a MAC over both; the acceptor answers
// with a MAC in the other direction. Nothing else is dispatched before this finishes, so a worker
// never runs code from a peer that does not know the secret, and vice versa. Each side then
// derives the session's per-direction frame keys from the secret and both nonces (frame-auth.ts),
// in the same synchronous step that checked the last handshake message, so no later frame is
// ever read without its MAC.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'
import { Connection, type ConnectionOptions, type Message } from './connection.js'
import { ClusterError, ClusterErrorCodes } from './errors.js'
import { deriveSessionKeys } from './frame-auth.js'

// 2: frames after the handshake carry a MAC (version 1 peers fail the handshake's MACs).
// 3: shuffle and spill frames carry objects as msgpackr records (#18), which a version 2 peer cannot
//    read: it fails the handshake instead of misreading a block.
const VERSION = 3
const NONCE_BYTES = 32

export interface HandshakeOptions extends ConnectionOptions {
  secret: string
  timeoutMs: number
}

function mac(secret: string, direction: 'c' | 's', a: Uint8Array, b: Uint8Array, role: string): Buffer {
  return createHmac('sha256', secret).update(`switchyard-cluster-v${VERSION}|${direction}|${role}|`).update(a).update('|').update(b).digest()
}

function macEqual(a: unknown, b: Buffer): boolean {
  return a instanceof Uint8Array && a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Waits for the next handshake message and runs `check` on it synchronously, before any frame
 * behind it in the same chunk is read; `check` throwing rejects the promise.
 */
function awaitRaw<T>(conn: Connection, timeoutMs: number, what: string, check: (msg: Message) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.onRaw(undefined)
      const err = new ClusterError(ClusterErrorCodes.HANDSHAKE_TIMEOUT, `Handshake with ${conn.remoteAddress} timed out waiting for ${what} after ${timeoutMs} ms`)
      conn.close(err)
      reject(err)
    }, timeoutMs)
    conn.onClose((err) => {
      clearTimeout(timer)
      reject(err ?? new ClusterError(ClusterErrorCodes.CONNECTION_CLOSED, `Connection to ${conn.remoteAddress} closed during the handshake`))
    })
    conn.onRaw((msg) => {
      clearTimeout(timer)
      // A frame after this one without a listener and without session keys closes the connection.
      conn.onRaw(undefined)
      try {
        resolve(check(msg))
      } catch (err) {
        reject(err as Error)
      }
    })
  })
}

/** Server side: authenticates an accepted socket; rejects (and closes it) on any failure. */
export async function acceptConnection(socket: Socket, options: HandshakeOptions, allowedRoles: readonly string[]): Promise<Connection> {
  const conn = new Connection(socket, options)
  const serverNonce = randomBytes(NONCE_BYTES)
  const answer = awaitRaw(conn, options.timeoutMs, 'auth', (msg) => {
    const clientNonce = msg.nonce
    const role = typeof msg.role === 'string' ? msg.role : ''
    if (
      msg.t !== 'auth' ||
      !(clientNonce instanceof Uint8Array) ||
      clientNonce.length !== NONCE_BYTES ||
      !allowedRoles.includes(role) ||
      !macEqual(msg.mac, mac(options.secret, 'c', serverNonce, clientNonce, role))
    ) {
      const err = new ClusterError(ClusterErrorCodes.AUTH_FAILED, `Peer ${conn.remoteAddress} failed authentication (wrong secret or role "${role.slice(0, 32)}")`)
      conn.send({ t: 'denied' })
      // Let the denial reach the peer, then drop the connection.
      setTimeout(() => conn.close(err), 50).unref()
      conn.onRaw(() => {})
      throw err
    }
    conn.send({ t: 'welcome', mac: mac(options.secret, 's', clientNonce, serverNonce, role) })
    conn.authenticated(role, deriveSessionKeys(options.secret, VERSION, role, serverNonce, clientNonce, 'server'))
  })
  conn.send({ t: 'hello', v: VERSION, nonce: serverNonce })
  await answer
  return conn
}

/** Client side: connects and authenticates; also checks that the server knows the secret. */
export async function openConnection(host: string, port: number, role: string, options: HandshakeOptions): Promise<Connection> {
  const socket = netConnect({ host, port })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ClusterError(ClusterErrorCodes.HANDSHAKE_TIMEOUT, `Cannot connect to ${host}:${port} within ${options.timeoutMs} ms`))
    }, options.timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', onError)
      resolve()
    })
    const onError = (err: Error): void => {
      clearTimeout(timer)
      reject(new ClusterError(ClusterErrorCodes.CONNECTION_CLOSED, `Cannot connect to ${host}:${port}: ${err.message}`, { cause: err }))
    }
    socket.once('error', onError)
  })
  return authenticateClient(socket, role, options)
}

export async function authenticateClient(socket: Socket, role: string, options: HandshakeOptions): Promise<Connection> {
  const conn = new Connection(socket, options)
  const hello = await awaitRaw(conn, options.timeoutMs, 'hello', (msg) => {
    if (msg.t !== 'hello' || !(msg.nonce instanceof Uint8Array) || msg.nonce.length !== NONCE_BYTES) {
      const err = new ClusterError(ClusterErrorCodes.PROTOCOL, `Peer ${conn.remoteAddress} is not a switchyard cluster endpoint`)
      conn.close(err)
      throw err
    }
    return { nonce: msg.nonce }
  })
  const serverNonce = hello.nonce
  const clientNonce = randomBytes(NONCE_BYTES)
  const answer = awaitRaw(conn, options.timeoutMs, 'welcome', (msg) => {
    if (msg.t !== 'welcome' || !macEqual(msg.mac, mac(options.secret, 's', clientNonce, serverNonce, role))) {
      const err = new ClusterError(
        ClusterErrorCodes.AUTH_FAILED,
        msg.t === 'denied' ? `${conn.remoteAddress} rejected our secret` : `${conn.remoteAddress} failed to prove it knows the secret`,
      )
      conn.close(err)
      throw err
    }
    conn.authenticated('server', deriveSessionKeys(options.secret, VERSION, role, serverNonce, clientNonce, 'client'))
  })
  conn.send({ t: 'auth', v: VERSION, role, nonce: clientNonce, mac: mac(options.secret, 'c', serverNonce, clientNonce, role) })
  await answer
  return conn
}
