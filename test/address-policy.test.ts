import { describe, expect, it } from 'vitest';
import { createAddressPolicy, literalHostAddress } from '../src/engine/http/address-policy.js';
import { InvalidOptionError } from '../src/shared/errors/input.js';

const policy = createAddressPolicy();

/** What the guard sees for a URL host: WHATWG normalisation, then literalHostAddress. */
function viaUrl(host: string): string | null {
  return literalHostAddress(new URL(`http://${host}/`).hostname);
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

describe('default policy: refused IPv4 ranges', () => {
  // [network address, an address inside, rule]
  const table: [string, string, string][] = [
    ['0.0.0.0', '0.1.2.3', 'unspecified'],
    ['10.0.0.0', '10.255.1.2', 'private'],
    ['100.64.0.0', '100.127.255.255', 'carrier-grade-nat'],
    ['127.0.0.0', '127.0.0.1', 'loopback'],
    ['169.254.0.0', '169.254.1.1', 'link-local'],
    ['172.16.0.0', '172.31.255.255', 'private'],
    ['192.0.0.0', '192.0.0.192', 'reserved'],
    ['192.0.2.0', '192.0.2.55', 'documentation'],
    ['192.88.99.0', '192.88.99.1', '6to4'],
    ['192.168.0.0', '192.168.1.1', 'private'],
    ['198.18.0.0', '198.19.255.254', 'benchmarking'],
    ['198.51.100.0', '198.51.100.7', 'documentation'],
    ['203.0.113.0', '203.0.113.200', 'documentation'],
    ['224.0.0.0', '239.255.255.250', 'multicast'],
    ['240.0.0.0', '250.1.2.3', 'reserved'],
    ['255.255.255.255', '255.255.255.255', 'broadcast'],
    ['169.254.169.254', '169.254.169.254', 'metadata'],
  ];

  it.each(table)('%s and %s are refused as %s', (network, inside, rule) => {
    expect(policy.check(network)).toBe(rule);
    expect(policy.check(inside)).toBe(rule);
  });

  it.each(table)('the IPv4-mapped IPv6 forms of %s and %s are refused as %s', (network, inside, rule) => {
    for (const address of [network, inside]) {
      expect(policy.check(`::ffff:${address}`)).toBe(rule);
      const n = ipv4ToInt(address);
      const hex = `::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
      expect(policy.check(hex)).toBe(rule);
    }
  });

  it.each(table)('URL spellings of %s (inside: %s) reach the %s rule', (network, inside, rule) => {
    for (const address of [network, inside]) {
      const n = ipv4ToInt(address);
      const parts = address.split('.').map(Number);
      const forms = [
        address,
        String(n), // decimal
        `0x${n.toString(16)}`, // hex
        parts.map((p) => `0${p.toString(8)}`).join('.'), // octal
        `${parts[0]}.${n & 0xffffff}`, // short: a.bcd
        `[::ffff:${address}]`,
        `[::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}]`,
      ];
      for (const form of forms) {
        const literal = viaUrl(form);
        expect(literal, form).not.toBeNull();
        expect(policy.check(literal!), form).toBe(rule);
      }
    }
  });

  it('sees the loopback address through every URL spelling', () => {
    const forms = [
      '2130706433',
      '0x7f000001',
      '0177.0.0.1',
      '127.1',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
    ];
    for (const form of forms) {
      const literal = viaUrl(form);
      expect(literal === '127.0.0.1' || literal === '::ffff:7f00:1', form).toBe(true);
      expect(policy.check(literal!), form).toBe('loopback');
    }
  });
});

describe('default policy: refused IPv6 ranges', () => {
  const table: [string, string, string][] = [
    ['::', '::', 'unspecified'],
    ['::1', '::1', 'loopback'],
    // ::/96 starts with :: and ::1, which have their own rules above.
    ['::2', '::7f00:1', 'ipv4-compatible'],
    ['::0.0.255.255', '::8.8.8.8', 'ipv4-compatible'],
    ['64:ff9b::', '64:ff9b::7f00:1', 'nat64'],
    ['64:ff9b:1::', '64:ff9b:1:ffff::1', 'nat64'],
    ['2002::', '2002:7f00:1::1', '6to4'],
    ['2001::', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
    ['2001:2::', '2001:2:0:ff::1', 'benchmarking'],
    ['2001:db8::', '2001:db8:85a3::8a2e:370:7334', 'documentation'],
    ['3fff::', '3fff:fff:ffff::1', 'documentation'],
    ['fc00::', 'fdff:ffff::1', 'unique-local'],
    ['fe80::', 'febf::1', 'link-local'],
    ['fec0::', 'feff::1', 'site-local'],
    ['ff00::', 'ff02::1', 'multicast'],
    ['100::', '100::1', 'reserved'],
    ['4000::', '5f00::1', 'reserved'],
    ['::ffff:0:0:0', '::ffff:0:7f00:1', 'reserved'],
    ['fd00:ec2::254', 'fd00:ec2::254', 'metadata'],
  ];

  it.each(table)('%s and %s are refused as %s', (network, inside, rule) => {
    expect(policy.check(network)).toBe(rule);
    expect(policy.check(inside)).toBe(rule);
    // The way a URL host carries them.
    expect(policy.check(`[${inside}]`)).toBe(rule);
  });

  it('refuses IPv4-compatible ::7f00:1 (ipaddr.js calls it unicast) from a URL too', () => {
    expect(viaUrl('[::7f00:1]')).toBe('::7f00:1');
    expect(policy.check(viaUrl('[::7f00:1]')!)).toBe('ipv4-compatible');
  });

  it('reads ::a.b.c.d as IPv4-compatible, not IPv4-mapped as ipaddr.js does', () => {
    expect(policy.check('::8.8.8.8')).toBe('ipv4-compatible');
    expect(policy.check('::0.0.0.2')).toBe('ipv4-compatible');
    expect(policy.check('::ffff:8.8.8.8')).toBeNull();
    expect(policy.check('64:ff9b::10.0.0.1')).toBe('nat64');
  });

  it('ignores zone ids', () => {
    expect(policy.check('fe80::1%eth0')).toBe('link-local');
    expect(policy.check('[fe80::1%25eth0]')).toBe('link-local');
    expect(policy.check('2606:4700:4700::1111%eth0')).toBeNull();
  });
});

describe('default policy: allowed addresses', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '2606:4700:4700::1111',
    '[2606:4700:4700::1111]',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '2a00:1450:4001:82b::200e',
    // Edges next to refused ranges.
    '1.0.0.0',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.0',
    '192.0.3.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2000::1',
    '3ffe:ffff::1',
    '2003::1',
  ])('%s is allowed', (address) => {
    expect(policy.check(address)).toBeNull();
  });

  it('allows [::ffff:8.8.8.8] from a URL', () => {
    const literal = viaUrl('[::ffff:8.8.8.8]');
    expect(literal).toBe('::ffff:808:808');
    expect(policy.check(literal!)).toBeNull();
  });
});

describe('invalid addresses', () => {
  it.each([
    '',
    'example.com',
    'localhost',
    '1.2.3.4.5',
    '256.0.0.1',
    '1.2.3.4/32',
    ' 8.8.8.8',
    '8.8.8.8 ',
    '[8.8.8.8',
    ':::1',
    '::ffff:0x7f.0.0.1',
    // Legacy IPv4 spellings are never what a resolver returns; literalHostAddress normalises URL hosts.
    '127.1',
    '2130706433',
    '0x7f000001',
    '0177.0.0.1',
    '010.0.0.1',
  ])('%j is refused as invalid', (address) => {
    expect(policy.check(address)).toBe('invalid');
  });

  it('refuses a non-string as invalid', () => {
    expect(policy.check(undefined as unknown as string)).toBe('invalid');
  });
});

describe('allowPrivateNetworks', () => {
  const open = createAddressPolicy({ allowPrivateNetworks: true });

  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '192.168.1.1',
    '::1',
    'fd00::1',
    '169.254.169.254',
    '0.0.0.0',
    '8.8.8.8',
  ])('allows %s', (address) => {
    expect(open.check(address)).toBeNull();
  });

  it('still refuses non-addresses', () => {
    expect(open.check('localhost')).toBe('invalid');
    expect(open.check('127.1')).toBe('invalid');
  });
});

describe('allowedNetworks', () => {
  it('opens a private range and nothing else', () => {
    const p = createAddressPolicy({ allowedNetworks: ['10.0.0.0/8'] });
    expect(p.check('10.1.2.3')).toBeNull();
    expect(p.check('::ffff:10.1.2.3')).toBeNull();
    expect(p.check('192.168.1.1')).toBe('private');
    expect(p.check('127.0.0.1')).toBe('loopback');
    expect(p.check('8.8.8.8')).toBeNull();
  });

  it('opens a link-local range but not the metadata address inside it', () => {
    const p = createAddressPolicy({ allowedNetworks: ['169.254.0.0/16'] });
    expect(p.check('169.254.1.1')).toBeNull();
    expect(p.check('169.254.169.254')).toBe('metadata');
    expect(p.check('::ffff:169.254.169.254')).toBe('metadata');
    expect(p.check('::ffff:a9fe:a9fe')).toBe('metadata');
  });

  it.each(['169.254.169.254/32', '169.254.169.254', '::ffff:169.254.169.254/128'])(
    'opens the metadata address when %s is listed on its own',
    (entry) => {
      const p = createAddressPolicy({ allowedNetworks: [entry] });
      expect(p.check('169.254.169.254')).toBeNull();
      expect(p.check('::ffff:169.254.169.254')).toBeNull();
      expect(p.check('169.254.169.253')).toBe('link-local');
      expect(p.check('fd00:ec2::254')).toBe('metadata');
    },
  );

  it('does not open the IPv6 metadata address through fd00::/8', () => {
    const p = createAddressPolicy({ allowedNetworks: ['fd00::/8'] });
    expect(p.check('fd00::1')).toBeNull();
    expect(p.check('fd12:3456::1')).toBeNull();
    expect(p.check('fd00:ec2::254')).toBe('metadata');
    expect(p.check('fc00::1')).toBe('unique-local');
    expect(createAddressPolicy({ allowedNetworks: ['fd00:ec2::254/128'] }).check('fd00:ec2::254')).toBeNull();
  });

  it('keeps metadata refused under a range that contains everything', () => {
    const p = createAddressPolicy({ allowedNetworks: ['0.0.0.0/0', '::/0'] });
    expect(p.check('127.0.0.1')).toBeNull();
    expect(p.check('::1')).toBeNull();
    expect(p.check('169.254.169.254')).toBe('metadata');
    expect(p.check('fd00:ec2::254')).toBe('metadata');
  });

  it('opens IPv4 through an IPv4-mapped range, but not through an IPv6 range that merely contains it', () => {
    const mapped = createAddressPolicy({ allowedNetworks: ['::ffff:10.0.0.0/104'] });
    expect(mapped.check('10.1.2.3')).toBeNull();
    expect(mapped.check('::ffff:10.1.2.3')).toBeNull();
    const v6 = createAddressPolicy({ allowedNetworks: ['::/0'] });
    expect(v6.check('::ffff:10.1.2.3')).toBe('private');
    expect(v6.check('10.1.2.3')).toBe('private');
  });

  it('accepts single addresses and host bits after the prefix', () => {
    const p = createAddressPolicy({ allowedNetworks: ['192.168.1.10', '10.1.2.3/8', 'fe80::1'] });
    expect(p.check('192.168.1.10')).toBeNull();
    expect(p.check('192.168.1.11')).toBe('private');
    expect(p.check('10.200.0.1')).toBeNull();
    expect(p.check('fe80::1%eth0')).toBeNull();
    expect(p.check('fe80::2')).toBe('link-local');
  });

  it.each([
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.0/-1',
    '10.0.0.0/08',
    '10/8',
    '010.0.0.0/8',
    '0x0a.0.0.0/8',
    '300.0.0.0/8',
    'fd00::/129',
    '[fd00::]/8',
    'fe80::%eth0/64',
    'example.com',
    '',
    ' 10.0.0.0/8',
  ])('throws InvalidOptionError on %j, echoing it', (entry) => {
    let error: unknown;
    try {
      createAddressPolicy({ allowedNetworks: ['192.168.0.0/16', entry] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'allowedNetworks' });
    expect((error as Error).message).toContain(JSON.stringify(entry));
  });

  it('throws InvalidOptionError on a non-array or a non-string entry', () => {
    const bad = [
      { allowedNetworks: '10.0.0.0/8' },
      { allowedNetworks: [10] },
      { allowedNetworks: [null] },
      { allowPrivateNetworks: 'yes' },
    ] as unknown as Parameters<typeof createAddressPolicy>[0][];
    for (const options of bad) {
      expect(() => createAddressPolicy(options)).toThrow(InvalidOptionError);
    }
  });
});

describe('literalHostAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['8.8.8.8', '8.8.8.8'],
    ['[::1]', '::1'],
    ['[2606:4700:4700::1111]', '2606:4700:4700::1111'],
    ['[::ffff:7f00:1]', '::ffff:7f00:1'],
    ['::1', '::1'],
  ])('%s is the literal %s', (hostname, address) => {
    expect(literalHostAddress(hostname)).toBe(address);
  });

  it.each(['example.com', 'localhost', 'xn--nxasmq6b', '1.2.3.4.example', '127.1', '2130706433', ''])(
    '%j is not a literal',
    (hostname) => {
      expect(literalHostAddress(hostname)).toBeNull();
    },
  );

  it('returns what URL normalised for legacy IPv4 spellings', () => {
    for (const form of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0x7f.1']) {
      expect(viaUrl(form), form).toBe('127.0.0.1');
    }
    expect(viaUrl('example.com')).toBeNull();
  });
});
