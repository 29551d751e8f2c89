/**
 * The address policy of the SSRF guard: given an IP address the sender is about to connect to, decide
 * whether that is allowed. Pure: no DNS, no sockets. The connector resolves names and asks `check()` about
 * every address it would connect to (and about IP-literal hosts, via `literalHostAddress()`).
 *
 * The default is deny-by-rule: only globally routable unicast passes. The rule tables below are explicit
 * CIDR lists rather than `ipaddr.range()` names, because those names have gaps for this purpose: it calls
 * IPv4-compatible `::7f00:1` 'unicast', files 3fff::/20 (documentation) under 'reserved' next to globally
 * reachable blocks, and its names change between releases. ipaddr.js is used only to parse and to match,
 * and its parser too is fenced in (see `parseAddress`).
 */
import ipaddr from 'ipaddr.js';
import { InvalidOptionError } from '../../shared/errors/input.js';
/** Options of {@link createAddressPolicy}. */
export interface AddressPolicyOptions {
  /**
   * Allow every IP address, including loopback, private networks and cloud metadata endpoints. For local
   * development and tests only. Strings that are not IP addresses are still refused.
   */
  allowPrivateNetworks?: boolean;
  /**
   * Ranges to open on top of the default policy, as CIDR strings (`'10.0.0.0/8'`, `'fd00::/8'`) or single
   * addresses (`'10.1.2.3'`). Cloud metadata addresses stay refused unless listed on their own, as a
   * single address (`'169.254.169.254'` or `'169.254.169.254/32'`).
   */
  allowedNetworks?: readonly string[];
}

/** A compiled address policy. */
export interface AddressPolicy {
  /**
   * Returns `null` when connecting to `address` is allowed, otherwise a short rule name saying why it is
   * refused (`'loopback'`, `'private'`, `'metadata'`, `'invalid'`, ...). `address` is an IP address as a
   * resolver returns it: dotted-quad IPv4 or IPv6, optionally in brackets or with a zone id
   * (`fe80::1%eth0`). Legacy IPv4 spellings such as `127.1` or `0x7f000001` are refused as `'invalid'`: a
   * resolver never returns them, and `literalHostAddress()` normalises them first.
   */
  check(address: string): string | null;
}

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;
type Address = IPv4 | IPv6;
type Range<T extends Address> = [T, number];

interface Rule<T extends Address> {
  range: Range<T>;
  rule: string;
}

function isV4(address: Address): address is IPv4 {
  return address.kind() === 'ipv4';
}

function rules<T extends Address>(family: 'ipv4' | 'ipv6', table: readonly [string, string][]): Rule<T>[] {
  return table.map(([cidr, rule]) => {
    const range = ipaddr.parseCIDR(cidr);
    if (range[0].kind() !== family) throw new Error(`address-policy: ${cidr} is not ${family}`);
    return { range: range as Range<T>, rule };
  });
}

/**
 * Cloud instance metadata services. They hand out credentials, so they stay refused even when an
 * `allowedNetworks` range contains them (169.254.0.0/16 is also where link-local services live), and open
 * only when listed as a single address.
 */
const METADATA_V4 = ['169.254.169.254', '100.100.100.200'].map((a) => ipaddr.IPv4.parse(a));
// 169.254.169.254: AWS, GCP, Azure, OpenStack, DigitalOcean, ... 100.100.100.200: Alibaba Cloud, inside
// 100.64.0.0/10, a range people open for VPN overlays such as Tailscale.
const METADATA_V6 = ['fd00:ec2::254'].map((a) => ipaddr.IPv6.parse(a)); // AWS IMDS over IPv6 (Nitro).

/**
 * IPv4 ranges refused by default, first match wins (more specific entries come before the ranges that
 * contain them). Anything not listed is public unicast.
 */
const IPV4_RULES = rules<IPv4>('ipv4', [
  // "This network". Connecting to 0.0.0.0 reaches listeners on the local host on Linux and macOS.
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  // Shared address space between ISP and customer: not the public internet, often an internal network.
  ['100.64.0.0/10', 'carrier-grade-nat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  // IETF protocol assignments (DS-Lite, NAT64 discovery, Oracle Cloud's metadata at 192.0.0.192, ...).
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  // Former 6to4 relay anycast: the relay decapsulates traffic towards arbitrary IPv6 addresses.
  ['192.88.99.0/24', '6to4'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

/**
 * IPv6 ranges refused by default, first match wins. IPv4-mapped addresses (::ffff:0:0/96) never reach this
 * table: they are unwrapped and judged as IPv4. Addresses outside 2000::/3 that are not listed here fall
 * under 'reserved' (see {@link GLOBAL_UNICAST_V6}).
 */
const IPV6_RULES = rules<IPv6>('ipv6', [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  // Deprecated IPv4-compatible addresses (::a.b.c.d). Some stacks still route them to the embedded IPv4
  // address, so ::7f00:1 may mean 127.0.0.1; ipaddr.js calls it 'unicast'.
  ['::/96', 'ipv4-compatible'],
  // NAT64 prefixes: the gateway connects to the embedded IPv4 address, which may be private.
  ['64:ff9b::/96', 'nat64'],
  ['64:ff9b:1::/48', 'nat64'],
  // Teredo and 6to4 embed IPv4 addresses (of the relay or the client) and are tunnels, not destinations.
  ['2001::/32', 'teredo'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['2002::/16', '6to4'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
]);

/** Global unicast; everything else in IPv6 is reserved, unallocated or has a rule above. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as Range<IPv6>;

/** The IPv4-mapped prefix ::ffff:0:0/96: the socket talks IPv4 to the embedded address. */
const IPV4_MAPPED = ipaddr.parseCIDR('::ffff:0:0/96') as Range<IPv6>;

/** Dotted-quad IPv4 without legacy forms: no octal, no hex, no leading zeros, exactly four parts. */
const DOTTED_QUAD = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

/**
 * Parses an IP address in the forms a resolver or the WHATWG URL parser produce, or returns null. IPv6 may
 * be bracketed and carry a zone id; the zone is dropped (it selects an interface, not an address).
 */
function parseAddress(input: string): Address | null {
  let text = input;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (text.includes(':')) {
    const zone = text.indexOf('%');
    if (zone !== -1) text = text.slice(0, zone);
    // An embedded IPv4 tail (::ffff:1.2.3.4) is rewritten as two hex groups before ipaddr.js sees it, for
    // two reasons. ipaddr.js reads `::a.b.c.d` as the IPv4-mapped ::ffff:a.b.c.d, whereas RFC 4291 makes it
    // the IPv4-compatible ::a.b.c.d (so `::8.8.8.8` would pass as 8.8.8.8, `::0.0.0.1` become 0.0.0.1). And
    // it reads octal and hex parts in the tail, which inet_pton() refuses.
    const colon = text.lastIndexOf(':');
    const tail = text.slice(colon + 1);
    if (tail.includes('.')) {
      if (!DOTTED_QUAD.test(tail) || !ipaddr.IPv4.isValid(tail)) return null;
      const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(tail).octets;
      text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    }
    return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : null;
  }
  // ipaddr.js accepts inet_aton()'s legacy forms (127.1, 0x7f000001, 0177.0.0.1), and differs from it on a
  // few (089.0.0.1). Only the canonical form is taken, so nothing here depends on those differences.
  return DOTTED_QUAD.test(text) && ipaddr.IPv4.isValid(text) ? ipaddr.IPv4.parse(text) : null;
}

/** An IPv4-mapped IPv6 address reaches the IPv4 address it carries: judge that one. */
function unwrap(address: Address): Address {
  return !isV4(address) && address.match(IPV4_MAPPED) ? address.toIPv4Address() : address;
}

/** Turns an IPv4-mapped IPv6 range of at least /96 into the IPv4 range it covers. */
function unwrapRange(range: Range<Address>): Range<Address> {
  const [address, bits] = range;
  if (!isV4(address) && bits >= 96 && address.match(IPV4_MAPPED)) return [address.toIPv4Address(), bits - 96];
  return range;
}

function inRange(address: Address, range: Range<Address>): boolean {
  // match() throws across families, so compare families first.
  return address.kind() === range[0].kind() && address.match(range);
}

function sameAddress(a: Address, b: Address): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}

function isMetadata(address: Address): boolean {
  return isV4(address)
    ? METADATA_V4.some((m) => sameAddress(m, address))
    : METADATA_V6.some((m) => sameAddress(m, address));
}

function firstRule<T extends Address>(address: T, table: readonly Rule<T>[]): string | null {
  for (const { range, rule } of table) if (address.match(range)) return rule;
  return null;
}

/** The default rules, for an already unwrapped address. */
function defaultRule(address: Address): string | null {
  if (isV4(address)) return firstRule(address, IPV4_RULES);
  return firstRule(address, IPV6_RULES) ?? (address.match(GLOBAL_UNICAST_V6) ? null : 'reserved');
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `a value of type ${typeof value}`;
}

const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

/** Parses one `allowedNetworks` entry into a range, mapped IPv6 ranges turned into IPv4 ones. */
function parseNetwork(entry: unknown): Range<Address> {
  const bad = (why: string) =>
    new InvalidOptionError(
      'allowedNetworks',
      `Invalid \`allowedNetworks\` entry ${describe(entry)}: ${why}. ` +
        "Expected a CIDR range such as '10.0.0.0/8' or 'fd00::/8', or a single IP address",
    );
  if (typeof entry !== 'string') throw bad('not a string');
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  // Brackets and zone ids have no meaning in a network; refuse rather than guess.
  if (/[[\]%]/.test(addressText)) throw bad('brackets and zone ids are not allowed');
  const address = parseAddress(addressText);
  if (address === null) throw bad('not an IP address');
  const maxBits = isV4(address) ? 32 : 128;
  if (prefixText === undefined) return unwrapRange([address, maxBits]);
  if (!PREFIX.test(prefixText) || Number(prefixText) > maxBits) {
    throw bad(`the prefix length must be a number from 0 to ${maxBits}`);
  }
  // Host bits after the prefix are ignored, as most firewalls do: '10.1.2.3/8' means 10.0.0.0/8.
  return unwrapRange(ipaddr.parseCIDR(`${address.toString()}/${prefixText}`));
}

/**
 * Builds the address policy of the SSRF guard.
 *
 * - By default only globally routable unicast addresses are allowed; loopback, private, link-local, CGNAT,
 *   documentation, multicast, reserved and tunnelling/translation ranges (NAT64, 6to4, Teredo,
 *   IPv4-compatible) are refused, and IPv4-mapped IPv6 addresses are judged as the IPv4 they carry.
 * - `allowPrivateNetworks: true` allows every IP address (metadata included).
 * - `allowedNetworks` opens the listed ranges, except for cloud metadata addresses, which open only when
 *   listed as a single address. IPv4-mapped ranges (`::ffff:10.0.0.0/104`) open the IPv4 range; an IPv6 range
 *   that merely contains the mapped block (`::/0`) does not open IPv4.
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) when `allowedNetworks` is not an array of CIDR strings or
 *   IP addresses, or `allowPrivateNetworks` is not a boolean.
 */
export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const { allowPrivateNetworks = false, allowedNetworks = [] } = options;
  if (typeof allowPrivateNetworks !== 'boolean') {
    throw new InvalidOptionError(
      'allowPrivateNetworks',
      `\`allowPrivateNetworks\` must be a boolean, got ${describe(allowPrivateNetworks)}`,
    );
  }
  if (!Array.isArray(allowedNetworks)) {
    throw new InvalidOptionError(
      'allowedNetworks',
      `\`allowedNetworks\` must be an array of CIDR strings, got ${describe(allowedNetworks)}`,
    );
  }
  const networks = allowedNetworks.map(parseNetwork);
  // Single-address entries, which are the only way to open a metadata address.
  const singles = networks.filter(([address, bits]) => bits === (isV4(address) ? 32 : 128)).map(([a]) => a);

  return {
    check(input: string): string | null {
      const parsed = typeof input === 'string' ? parseAddress(input) : null;
      if (parsed === null) return 'invalid';
      if (allowPrivateNetworks) return null;
      const address = unwrap(parsed);
      if (isMetadata(address)) return singles.some((s) => sameAddress(s, address)) ? null : 'metadata';
      if (networks.some((range) => inRange(address, range))) return null;
      return defaultRule(address);
    },
  };
}

/**
 * Returns the IP address a URL host names literally, or null when the host is a domain name (which the
 * connector must resolve, then `check()` every resolved address).
 *
 * Meant for `new URL(x).hostname`: the WHATWG parser already turns the legacy IPv4 spellings
 * (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) into `127.0.0.1` and brackets IPv6 (`[::1]`). The
 * result is normalised (`[::ffff:127.0.0.1]` gives `::ffff:7f00:1`) and has no brackets. A host in another
 * legacy form gives null, so it goes through the resolver and its answer is checked like any other.
 */
export function literalHostAddress(hostname: string): string | null {
  if (typeof hostname !== 'string') return null;
  // Bare IPv6 (no brackets) is accepted too: a colon cannot appear in a domain name, so it is no less literal.
  const address = parseAddress(hostname);
  return address === null ? null : address.toString();
}
