import type { ContributorHello } from '../coordinator-api.ts'
import { accountKey } from './account-key.ts'
import { networkKey } from './network-address.ts'

/**
 * The ban entries that refuse a contributor: its peer id, its wallet and its network
 * address (IPv4, or IPv6 /64), as the store keys them (`peer:…`, `wallet:…`, `address:…`).
 */
export function banKeys(
  peerId: string,
  hello: Pick<ContributorHello, 'wallet' | 'address'>,
): string[] {
  return [
    `peer:${peerId}`,
    ...(hello.wallet != null ? [`wallet:${accountKey(hello.wallet.address)}`] : []),
    ...(hello.address != null ? [`address:${networkKey(hello.address)}`] : []),
  ]
}
