import { isIPv4, isIPv6 } from 'node:net'

/** The eight 16-bit groups of a valid IPv6 address (a dotted IPv4 tail is two of them). */
function ipv6Groups(ip: string): number[] {
  let text = ip.split('%')[0]!
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted != null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail = ''] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = text.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left
  return groups.map((g) => Number.parseInt(g, 16))
}

/** The IPv4 address mapped into these IPv6 groups (`::ffff:a.b.c.d`), if they are one. */
function mappedIPv4(groups: readonly number[]): string | undefined {
  if (groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff) return undefined
  const [hi = 0, lo = 0] = groups.slice(6)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

const bare = (address: string) =>
  address
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase()

/**
 * The key under which a network address counts, for distinct replicas, for faults and bans,
 * and for the relay's reservations per host: an IPv4 address as it is, an IPv6 address by
 * its /64 prefix (one subscriber is handed a whole /64, so its addresses are one
 * contributor's), an IPv4-mapped IPv6 address (dotted, or in hex as multiaddr writes it) as
 * the IPv4 one. Anything else (a host name) is used lower-cased.
 */
export function networkKey(address: string): string {
  const host = bare(address)
  if (isIPv4(host)) return host
  if (!isIPv6(host)) return host
  const groups = ipv6Groups(host)
  return (
    mappedIPv4(groups) ??
    `${groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`
  )
}

/** Whether an IP address is this machine's own: 127/8, `::1`, or 127/8 mapped into IPv6. */
export function isLoopbackIp(address: string): boolean {
  const host = bare(address)
  if (isIPv4(host)) return host.startsWith('127.')
  if (!isIPv6(host)) return false
  const groups = ipv6Groups(host)
  const mapped = mappedIPv4(groups)
  if (mapped != null) return mapped.startsWith('127.')
  return groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1
}
