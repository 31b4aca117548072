import { NO_SITE, walletProofTypedData } from '@tabswarm/protocol'
import { verifyTypedData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { bindingKey, cachedWalletBinding, RENEW_BEFORE_S } from './binding-cache.ts'
import { memoryStore } from './key-value-store.ts'

const account = privateKeyToAccount(
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
)
const SITE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const signal = new AbortController().signal

/** The account as a wallet that prompts: counts how often the visitor would be asked. */
function promptingSigner() {
  let prompts = 0
  return {
    get prompts() {
      return prompts
    },
    signer: {
      address: account.address,
      signTypedData: (typedData: Parameters<typeof account.signTypedData>[0]) => {
        prompts++
        return account.signTypedData(typedData)
      },
    },
  }
}

describe('cachedWalletBinding: sign once, keep it until it nears expiry', () => {
  it('asks once, across reconnects and reloads (a new wallet object over the same store)', async () => {
    const store = memoryStore()
    const wallet = promptingSigner()
    let nowMs = 1_700_000_000_000
    const now = () => nowMs
    const first = await cachedWalletBinding(wallet.signer, { store, site: SITE, now }).bind(
      'peerA',
      signal,
    )
    nowMs += 3 * 24 * 3_600_000
    // A reload: a new wallet over the same store.
    const again = await cachedWalletBinding(wallet.signer, { store, site: SITE, now }).bind(
      'peerA',
      signal,
    )
    expect(again).toEqual(first)
    expect(wallet.prompts).toBe(1)
    expect(first.site).toBe(SITE)
    const valid = await verifyTypedData({
      address: account.address,
      signature: first.signature as `0x${string}`,
      ...walletProofTypedData({
        peerId: 'peerA',
        site: SITE,
        nonce: first.nonce as `0x${string}`,
        expiry: first.expiry,
      }),
    })
    expect(valid).toBe(true)
  })

  it('signs afresh when the binding nears its expiry, and stores the new one', async () => {
    const store = memoryStore()
    const wallet = promptingSigner()
    let nowMs = 1_700_000_000_000
    const options = { store, now: () => nowMs, lifetimeS: 3 * RENEW_BEFORE_S }
    const first = await cachedWalletBinding(wallet.signer, options).bind('peerA', signal)
    nowMs = (first.expiry - RENEW_BEFORE_S + 1) * 1000
    const renewed = await cachedWalletBinding(wallet.signer, options).bind('peerA', signal)
    expect(wallet.prompts).toBe(2)
    expect(renewed.nonce).not.toBe(first.nonce)
    expect(renewed.expiry).toBeGreaterThan(first.expiry)
    expect(await store.get(bindingKey(account.address, 'peerA', NO_SITE))).toEqual(renewed)
  })

  it('keeps one binding per peer id and per site', async () => {
    const store = memoryStore()
    const wallet = promptingSigner()
    const noSite = cachedWalletBinding(wallet.signer, { store })
    const a = await noSite.bind('peerA', signal)
    const b = await noSite.bind('peerB', signal)
    const withSite = await cachedWalletBinding(wallet.signer, { store, site: SITE }).bind(
      'peerA',
      signal,
    )
    expect(wallet.prompts).toBe(3)
    expect(new Set([a.nonce, b.nonce, withSite.nonce]).size).toBe(3)
    expect(a.site).toBe(NO_SITE)
  })

  it('signs again when the stored binding is unreadable, and still binds when storing fails', async () => {
    const store = memoryStore()
    const wallet = promptingSigner()
    await store.put(bindingKey(account.address, 'peerA', NO_SITE), { nonsense: true })
    const proof = await cachedWalletBinding(wallet.signer, { store }).bind('peerA', signal)
    expect(proof.address).toBe(account.address)
    const failing = { ...memoryStore(), put: () => Promise.reject(new Error('quota')) }
    await expect(
      cachedWalletBinding(wallet.signer, { store: failing }).bind('peerA', signal),
    ).resolves.toMatchObject({
      address: account.address,
    })
  })
})
