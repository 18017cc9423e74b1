// FastResponse.writeHead merges fields set with setHeader with the ones it is given: a given field
// replaces a set one whatever the case of either name (object and array forms), the others follow
// in the order they were set. Checked on the exact head bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { FastResponse, type ResponseOwner } from '../../../src/proxy/fast/fast-message.js'

function head(set: [string, string][], given: Record<string, string | number> | (string | number)[] | undefined): string {
  let wire = ''
  const socket = { write: (d: string | Buffer) => ((wire += typeof d === 'string' ? d : d.toString('latin1')), true), writableNeedDrain: false, writableLength: 0 } as unknown as Socket
  const owner: ResponseOwner = { responseDone: () => {}, keepAliveHeader: 'connection: keep-alive\r\n\r\n' }
  const res = new FastResponse(socket, 'GET', false, owner)
  res.sendDate = false
  for (const [n, v] of set) res.setHeader(n, v)
  if (given === undefined) res.writeHead(200)
  else res.writeHead(200, given as Record<string, string>)
  res.end()
  return wire
}

const SET: [string, string][] = [
  ['RateLimit-Limit', '5'],
  ['x-set-only', 'a'],
  ['X-Both', 'from-set'],
  ['content-type', 'text/set'],
]

test('fast response head: given fields replace set ones in any case, set ones follow in set order', () => {
  const expected = 'HTTP/1.1 200 OK\r\nx-both: given\r\nContent-Type: text/given\r\nRateLimit-Limit: 5\r\nx-set-only: a\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n'
  assert.equal(head(SET, { 'x-both': 'given', 'Content-Type': 'text/given', 'Content-Length': 0 }), expected)
  assert.equal(head(SET, ['x-both', 'given', 'Content-Type', 'text/given', 'Content-Length', 0]), expected)
})

test('fast response head: a given name of the same length but another field does not hide a set one', () => {
  assert.equal(
    head([['x-aaa', '1'], ['X-BBB', '2']], { 'x-bbc': 'g', 'x-AAA': 'g2', 'content-length': 0 }),
    'HTTP/1.1 200 OK\r\nx-bbc: g\r\nx-AAA: g2\r\nX-BBB: 2\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n',
  )
})

test('fast response head: only set fields, and a given field with an undefined value still replaces', () => {
  assert.equal(head([['x-a', '1'], ['Content-Length', '0']], undefined), 'HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n')
  assert.equal(
    head([['x-a', '1']], { 'X-A': undefined as unknown as string, 'content-length': 0 }),
    'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n',
  )
})
