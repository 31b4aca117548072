import type { ContributorIdentity } from './contributor-registry.ts'

/**
 * The ban entries that refuse a contributor: its peer id, its wallet and its network
 * address (IPv4, or IPv6 /64), as the store keys them (`peer:…`, `wallet:…`, `address:…`).
 */
export function banKeys(c: Pick<ContributorIdentity, 'peerId' | 'payee' | 'address'>): string[] {
  return [
    `peer:${c.peerId}`,
    ...(c.payee.startsWith('0x') ? [`wallet:${c.payee}`] : []),
    ...(c.address != null ? [`address:${c.address}`] : []),
  ]
}
