import { NO_SITE, WALLET_BINDING_MAX_LIFETIME_S, type WalletProof } from '@tabswarm/protocol'
import { type BindingSigner, bindWallet, type ContributorWallet } from '@tabswarm/sdk/contributor'
import type { KeyValueStore } from './key-value-store.ts'

/**
 * A binding lasts a little under the relay's limit (7 days), so a relay whose clock runs
 * ahead of the page's does not refuse it as too long-lived.
 */
export const CACHED_BINDING_LIFETIME_S = WALLET_BINDING_MAX_LIFETIME_S - 3_600
/** A cached binding this close to its expiry is signed afresh at the next hello. */
export const RENEW_BEFORE_S = 24 * 3_600

export interface CachedBindingOptions {
  store: KeyValueStore
  /** The embedding site's payout address. @default NO_SITE */
  site?: `0x${string}` | undefined
  /** @default CACHED_BINDING_LIFETIME_S */
  lifetimeS?: number | undefined
  /** @default RENEW_BEFORE_S */
  renewBeforeS?: number | undefined
  now?: () => number
}

/** The store key of one binding: one per wallet, peer id (the tab's slot) and site. */
export const bindingKey = (address: string, peerId: string, site: string) =>
  `binding:${address.toLowerCase()}:${peerId}:${site.toLowerCase()}`

/**
 * A {@link ContributorWallet} for a wallet that asks its holder to sign (an injected one):
 * the binding it signs is kept in `store` and presented again at every hello, across
 * reconnects and reloads, until it nears its expiry; only then is the visitor asked again.
 * A tab's peer id is stable per identity slot, so each tab of a profile keeps its own.
 */
export function cachedWalletBinding(
  signer: BindingSigner,
  options: CachedBindingOptions,
): ContributorWallet {
  const site = options.site ?? NO_SITE
  const now = options.now ?? Date.now
  const renewBeforeS = options.renewBeforeS ?? RENEW_BEFORE_S
  const signing = bindWallet(signer, {
    site,
    lifetimeS: options.lifetimeS ?? CACHED_BINDING_LIFETIME_S,
    now,
  })
  return {
    address: signer.address,
    async bind(peerId, signal) {
      const key = bindingKey(signer.address, peerId, site)
      const cached = await readCached(options.store, key)
      if (cached != null && cached.expiry - now() / 1000 > renewBeforeS) return cached
      const proof = await signing.bind(peerId, signal)
      // A binding that could not be stored still serves this hello.
      await options.store.put(key, proof).catch((err: unknown) => {
        console.warn(`tabswarm: wallet binding not kept: ${(err as Error).message}`)
      })
      return proof
    },
  }
}

async function readCached(store: KeyValueStore, key: string): Promise<WalletProof | undefined> {
  const value = (await store.get(key).catch(() => undefined)) as Partial<WalletProof> | undefined
  if (
    value == null ||
    typeof value.expiry !== 'number' ||
    typeof value.signature !== 'string' ||
    typeof value.address !== 'string'
  )
    return undefined
  return value as WalletProof
}
