import { getAddress } from 'viem'

/**
 * The ledger key of an account: a wallet address names one account whatever its casing
 * (its EIP-55 checksummed form); any other name is used as it is.
 */
export function accountKey(account: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(account) ? getAddress(account.toLowerCase()) : account
}
