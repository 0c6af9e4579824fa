// The SSRF address policy, on the pure checker only: none of these addresses is ever connected to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSettings } from '../../src/config/index.js';
import { addressClass, AddressPolicy, hostToCheck, parseCidrList, type AddressClass } from '../../src/net/address-policy.js';
import { offlineConfigFrom } from '../../src/config/offline.js';

const cases: Array<[string, AddressClass]> = [
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'carrier-nat'],
  ['100.127.255.255', 'carrier-nat'],
  ['100.128.0.1', 'public'],
  ['169.254.169.254', 'link-local'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['255.255.255.255', 'broadcast'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['fec0::1', 'private'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:8.8.8.8', 'public'],
  ['::127.0.0.1', 'loopback'],
  ['::10.0.0.1', 'private'],
  ['::ffff:0:10.0.0.1', 'private'],
  ['64:ff9b::a00:1', 'private'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b:1::8.8.8.8', 'reserved'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:a00:1::1', 'private'],
  ['2002:808:808::1', 'public'],
  ['2001:0:4136:e378::1', 'reserved'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:2::1', 'reserved'],
  ['100::1', 'reserved'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001::200e', 'public'],
  ['4000::1', 'reserved'],
  ['not-an-ip', 'reserved'],
];

test('addressClass sorts every special range and the IPv4 hidden in IPv6 forms', () => {
  for (const [ip, cls] of cases) assert.equal(addressClass(ip), cls, ip);
});

test('the default policy allows public addresses only', () => {
  const policy = new AddressPolicy([]);
  for (const [ip, cls] of cases) {
    const verdict = policy.check(ip);
    assert.equal(verdict.ok, cls === 'public', `${ip} (${cls})`);
    if (!verdict.ok) assert.match(verdict.reason, /address/);
  }
});

test('an allow-list CIDR lets exactly its range through', () => {
  const policy = new AddressPolicy(parseCidrList('127.0.0.1/32, 10.1.0.0/16 ,fd00::/8'));
  assert.deepEqual(policy.check('127.0.0.1'), { ok: true });
  assert.deepEqual(policy.check('::ffff:127.0.0.1'), { ok: true }, 'the mapped form of an allowed IPv4 address');
  assert.equal(policy.check('127.0.0.2').ok, false);
  assert.equal(policy.check('::1').ok, false);
  assert.equal(policy.check('10.1.255.255').ok, true);
  assert.equal(policy.check('10.2.0.1').ok, false);
  assert.equal(policy.check('fd00::5').ok, true);
  assert.equal(policy.check('fc00::5').ok, false);
  assert.equal(policy.check('8.8.8.8').ok, true);
});

test('parseCidrList: bare addresses, prefixes, host bits cleared, blanks skipped', () => {
  assert.deepEqual(parseCidrList(''), []);
  assert.deepEqual(parseCidrList(' , '), []);
  const [a, b, c] = parseCidrList('192.168.1.77/24,::1,2001:db8::1/32');
  assert.equal(a.family, 4);
  assert.equal(a.prefix, 24);
  assert.equal(a.network, BigInt(0xc0a80100));
  assert.equal(b.family, 6);
  assert.equal(b.prefix, 128);
  assert.equal(b.network, 1n);
  assert.equal(c.prefix, 32);
  assert.equal(new AddressPolicy(parseCidrList('0.0.0.0/0')).check('10.0.0.1').ok, true);
  assert.equal(new AddressPolicy(parseCidrList('::/0')).check('fe80::1').ok, true);
});

test('parseCidrList names the bad entry', () => {
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0/8', '10.0.0.0/', '10.0.0.0/8/1', '::1/-1', '256.0.0.1']) {
    assert.throws(
      () => parseCidrList(`127.0.0.1/32,${bad}`),
      (err: Error) => err.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
});

test('every spelling of a loopback or private IPv4 is a literal IP once the URL is parsed, and refused', () => {
  const policy = new AddressPolicy([]);
  const spellings: Array<[string, string]> = [
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://167772161/', '10.0.0.1'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::ffff:a00:1]:8080/', '::ffff:a00:1'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1'],
    ['http://[64:ff9b::a00:1]/', '64:ff9b::a00:1'],
    ['http://[fe80::1]/', 'fe80::1'],
  ];
  for (const [url, ip] of spellings) {
    const host = hostToCheck(new URL(url));
    assert.deepEqual(host, { kind: 'ip', ip }, url);
    assert.equal(policy.check(host.kind === 'ip' ? host.ip : '').ok, false, url);
  }
  assert.deepEqual(hostToCheck(new URL('https://example.com:8443/x')), { kind: 'name', name: 'example.com' });
  assert.deepEqual(hostToCheck(new URL('http://localhost/')), { kind: 'name', name: 'localhost' });
});

test('the policy comes from OPENPAN_FETCH_ALLOW, and a bad value is refused at start-up', () => {
  const policy = (env: Record<string, string>) => offlineConfigFrom(readSettings(env)).policy;
  assert.equal(policy({}).check('10.0.0.1').ok, false);
  assert.equal(policy({ OPENPAN_FETCH_ALLOW: '10.0.0.0/8' }).check('10.0.0.1').ok, true);
  assert.equal(policy({ OPENPAN_FETCH_ALLOW: ' 10.0.0.0/8 , ,192.168.1.5' }).check('192.168.1.5').ok, true);
  assert.throws(() => readSettings({ OPENPAN_FETCH_ALLOW: 'intranet' }), /OPENPAN_FETCH_ALLOW.*"intranet"/);
});
