import type { Hex } from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import type { KeyValueStore } from './key-value-store.ts'
import { InvalidWalletKeyError } from './wallet-errors.ts'

/** The store key of the browser profile's local wallet key (0x + 64 hex). */
export const LOCAL_KEY = 'local-key'

/** secp256k1's group order: a private key is an integer in [1, n). */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/**
 * A private key typed or pasted by a person, checked and normalised to `0x` + 64 lowercase
 * hex, or an `InvalidWalletKeyError` naming what is wrong (a mnemonic, an address, a
 * wrong length, a value off the curve). Surrounding spaces and quotes and a missing `0x`
 * are forgiven.
 *
 * @example
 * parsePrivateKey(' AC0974…FF80 ') // '0xac0974…ff80'
 */
export function parsePrivateKey(text: string): Hex {
  const trimmed = text.trim().replace(/^["']|["']$/g, '')
  if (trimmed === '') throw new InvalidWalletKeyError('nothing was pasted')
  if (/\s/.test(trimmed))
    throw new InvalidWalletKeyError(
      'it has spaces inside: a recovery phrase (words) is not a private key; paste the 64 hex digits of the key',
    )
  const hex = trimmed.replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]*$/.test(hex))
    throw new InvalidWalletKeyError(
      `it has characters that are not hex digits (${JSON.stringify(hex.match(/[^0-9a-fA-F]/)?.[0])}): a key is 64 digits 0-9, a-f`,
    )
  if (hex.length === 40)
    throw new InvalidWalletKeyError(
      'that is an address (40 hex digits), not a key (64): export the private key from the wallet',
    )
  if (hex.length !== 64)
    throw new InvalidWalletKeyError(`it has ${hex.length} hex digits; a private key has 64`)
  const value = BigInt(`0x${hex}`)
  if (value === 0n || value >= SECP256K1_N)
    throw new InvalidWalletKeyError(
      'it is outside the range of secp256k1 keys (zero, or too large)',
    )
  return `0x${hex.toLowerCase()}`
}

/**
 * The browser profile's wallet key: loaded, or created and stored on the first visit. Every
 * tab of the profile gets the same key, even two that create it at once.
 */
export async function loadOrCreateLocalKey(store: KeyValueStore): Promise<PrivateKeyAccount> {
  const stored = await store.putIfAbsent(LOCAL_KEY, generatePrivateKey())
  try {
    return privateKeyToAccount(parsePrivateKey(String(stored)))
  } catch (err) {
    // Unreadable storage must not stop the tab, nor silently replace a key that may hold
    // credits: say so, and let the visitor import a key.
    throw new InvalidWalletKeyError(
      `the key stored in this browser is unreadable (${(err as Error).message}); import a key to replace it`,
    )
  }
}

/** The stored key as `0x` + 64 hex, for the visitor to keep: whoever has it owns the credits. */
export async function exportLocalKey(store: KeyValueStore): Promise<Hex> {
  const stored = await store.get(LOCAL_KEY)
  if (stored == null) throw new InvalidWalletKeyError('this browser holds no key yet')
  return parsePrivateKey(String(stored))
}

/**
 * Replaces the profile's key with `text` (checked first, nothing stored when invalid).
 * Tabs already running keep the key they loaded until reloaded.
 */
export async function importLocalKey(
  store: KeyValueStore,
  text: string,
): Promise<PrivateKeyAccount> {
  const key = parsePrivateKey(text)
  await store.put(LOCAL_KEY, key)
  return privateKeyToAccount(key)
}
