import { isIPv4, isIPv6 } from 'node:net'

/**
 * The key under which a contributor's network address counts, for distinct replicas and for
 * faults and bans: an IPv4 address as it is, an IPv6 address by its /64 prefix (one
 * subscriber is handed a whole /64, so its addresses are one contributor's), an IPv4-mapped
 * IPv6 address as the IPv4 one. Anything else (a host name) is used lower-cased.
 */
export function networkKey(address: string): string {
  const host = address
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
  if (mapped != null && isIPv4(mapped[1]!)) return mapped[1]!
  if (isIPv4(host)) return host
  if (!isIPv6(host)) return host
  const [head = '', tail = ''] = host.split('%')[0]!.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = host.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}
