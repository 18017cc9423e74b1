import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CidrSet, CidrTable, parseCidr, parseIp } from '../../../src/proxy/protect/cidr.js'
import { ClientIpResolver, IpAccessList } from '../../../src/proxy/protect/client-ip.js'

test('IPv4 and IPv6 CIDR membership, IPv4-mapped IPv6 matches IPv4 rules', () => {
  const set = new CidrSet(['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32', '203.0.113.7'])
  assert.equal(set.has('10.1.2.3'), true)
  assert.equal(set.has('11.1.2.3'), false)
  assert.equal(set.has('192.168.1.255'), true)
  assert.equal(set.has('192.168.2.1'), false)
  assert.equal(set.has('::ffff:10.9.9.9'), true)
  assert.equal(set.has('2001:db8:1::5'), true)
  assert.equal(set.has('2001:db9::1'), false)
  assert.equal(set.has('203.0.113.7'), true)
  assert.equal(set.has('203.0.113.8'), false)
  assert.equal(set.has('not-an-ip'), false)
  assert.equal(new CidrSet(['0.0.0.0/0']).has('1.2.3.4'), true)
  assert.equal(new CidrSet(['::/0']).has('1.2.3.4'), false)
  assert.equal(new CidrSet(['::/0']).has('::1'), true)
})

test('longest prefix wins in a CIDR table', () => {
  const t = new CidrTable<string>().add('10.0.0.0/8', 'wide').add('10.1.0.0/16', 'narrow').add('fe80::/10', 'v6')
  assert.equal(t.lookup('10.1.2.3'), 'narrow')
  assert.equal(t.lookup('10.2.2.3'), 'wide')
  assert.equal(t.lookup('fe80::1'), 'v6')
  assert.equal(t.lookup('8.8.8.8'), undefined)
})

test('bad CIDRs are refused with ERR_PROXY_BAD_CIDR', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'x', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/-1', '1.2.3.4/8a']) {
    assert.throws(() => parseCidr(bad), (e: { code?: string }) => e.code === 'ERR_PROXY_BAD_CIDR', bad)
  }
  assert.equal(parseCidr('::ffff:10.0.0.0/104').family, 4)
  assert.equal(parseIp('::ffff:1.2.3.4')?.family, 4)
})

test('X-Forwarded-For is believed only through trusted proxies, so a client cannot spoof', () => {
  const r = new ClientIpResolver({ trustedProxies: ['10.0.0.0/8', '::1'] })
  // Direct untrusted client: its own XFF is ignored.
  assert.equal(r.resolve('198.51.100.9', '1.1.1.1'), '198.51.100.9')
  // Through one trusted proxy: the hop before it.
  assert.equal(r.resolve('10.0.0.2', '198.51.100.9'), '198.51.100.9')
  // Client-forged entry on the left is skipped: the first untrusted hop from the right wins.
  assert.equal(r.resolve('10.0.0.2', '1.1.1.1, 198.51.100.9, 10.0.0.5'), '198.51.100.9')
  // Garbage in the chain: stop at the last address we can vouch for.
  assert.equal(r.resolve('10.0.0.2', 'evil, 10.0.0.7'), '10.0.0.7')
  // Only trusted hops: the left-most.
  assert.equal(r.resolve('::ffff:10.0.0.2', '10.0.0.3'), '10.0.0.3')
  // RFC 7239 Forwarded when no XFF.
  assert.equal(r.resolve('::1', undefined, 'for="[2001:db8::7]:4711";proto=https, for=10.0.0.9'), '2001:db8::7')
  // Nothing trusted: always the peer.
  assert.equal(new ClientIpResolver().resolve('10.0.0.2', '1.1.1.1'), '10.0.0.2')
})

test('allow/deny lists: deny wins, empty allow admits everyone', () => {
  const a = new IpAccessList({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] })
  assert.equal(a.permits('10.1.1.1'), true)
  assert.equal(a.permits('10.6.6.6'), false)
  assert.equal(a.permits('8.8.8.8'), false)
  assert.equal(a.permits('2001:db8::1'), true)
  const d = new IpAccessList({ deny: ['192.0.2.0/24'] })
  assert.equal(d.permits('192.0.2.1'), false)
  assert.equal(d.permits('::ffff:192.0.2.1'), false)
  assert.equal(d.permits('8.8.8.8'), true)
})
