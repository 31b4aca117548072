import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { memoryStore } from './key-value-store.ts'
import {
  exportLocalKey,
  importLocalKey,
  LOCAL_KEY,
  loadOrCreateLocalKey,
  parsePrivateKey,
} from './local-key.ts'
import { InvalidWalletKeyError } from './wallet-errors.ts'

/** Hardhat's first dev key: a valid secp256k1 key everyone knows. */
const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'

describe('parsePrivateKey: a pasted key, checked and normalised', () => {
  it.each([
    [KEY, KEY],
    [`  ${KEY.toUpperCase().replace('0X', '0x')}\n`, KEY],
    [KEY.slice(2), KEY],
    [`"${KEY}"`, KEY],
  ])('accepts %j', (text, key) => {
    expect(parsePrivateKey(text)).toBe(key)
  })

  it.each([
    ['', /nothing was pasted/],
    ['test test test test test test test test test test test junk', /recovery phrase/],
    [ADDRESS, /that is an address \(40 hex digits\), not a key \(64\)/],
    [`${KEY}00`, /66 hex digits; a private key has 64/],
    [`0x${'g'.repeat(64)}`, /not hex digits \("g"\)/],
    [`0x${'0'.repeat(64)}`, /outside the range/],
    [`0x${'f'.repeat(64)}`, /outside the range/],
  ])('refuses %j, naming the problem', (text, problem) => {
    const err = (() => {
      try {
        parsePrivateKey(text)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(InvalidWalletKeyError)
    expect((err as Error).message).toMatch(/^not a private key: /)
    expect((err as Error).message).toMatch(problem)
  })
})

describe('the local key in the store', () => {
  it('is created on the first visit and the same after (one per profile)', async () => {
    const store = memoryStore()
    const first = await loadOrCreateLocalKey(store)
    const again = await loadOrCreateLocalKey(store)
    expect(again.address).toBe(first.address)
    expect(privateKeyToAccount(await exportLocalKey(store)).address).toBe(first.address)
  })

  it('is the same for two tabs that create it at once', async () => {
    const store = memoryStore()
    const [a, b] = await Promise.all([loadOrCreateLocalKey(store), loadOrCreateLocalKey(store)])
    expect(a.address).toBe(b.address)
  })

  it('is replaced by an imported key, which then exports; an invalid one stores nothing', async () => {
    const store = memoryStore()
    const before = await loadOrCreateLocalKey(store)
    await expect(importLocalKey(store, ADDRESS)).rejects.toThrow(InvalidWalletKeyError)
    expect((await loadOrCreateLocalKey(store)).address).toBe(before.address)

    const imported = await importLocalKey(store, ` ${KEY.slice(2)} `)
    expect(imported.address).toBe(ADDRESS)
    expect((await loadOrCreateLocalKey(store)).address).toBe(ADDRESS)
    expect(await exportLocalKey(store)).toBe(KEY)
  })

  it('says so when the stored key is unreadable, rather than replacing it', async () => {
    const store = memoryStore()
    await store.put(LOCAL_KEY, 'garbage')
    await expect(loadOrCreateLocalKey(store)).rejects.toThrow(/unreadable.*import a key/)
    expect(await store.get(LOCAL_KEY)).toBe('garbage')
    await expect(exportLocalKey(memoryStore())).rejects.toThrow(/holds no key yet/)
  })
})
