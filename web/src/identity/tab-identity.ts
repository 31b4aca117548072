import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { openDB } from 'idb'

/** IndexedDB database and store holding the tab's libp2p keys. */
const DB_NAME = 'tabswarm-identity'
const STORE = 'libp2p-keys'
/** Tabs of one browser profile that can each keep their own identity at once. */
const MAX_SLOTS = 32

export interface TabIdentity {
  privateKey: PrivateKey
  /** Which of the profile's identity slots this tab holds (0 for the first tab). */
  slot: number
  /** False when the key could not be stored (private mode, storage blocked): it lasts this page only. */
  persisted: boolean
  /** True when the key was made now rather than loaded from an earlier visit. */
  created: boolean
  /** Gives the slot back to other tabs of this profile. Called when the page goes away anyway. */
  release(): void
}

/**
 * Holds one identity slot for the life of the page with the Web Locks API, so two tabs of
 * one profile never share a peer id (libp2p would treat them as one peer) while a
 * returning visitor with one tab gets slot 0, and the same peer id, back.
 */
async function claimSlot(signal: AbortSignal): Promise<{ slot: number; release(): void }> {
  if (typeof navigator === 'undefined' || navigator.locks == null) {
    return { slot: 0, release() {} }
  }
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    signal.throwIfAborted()
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const granted = await new Promise<boolean>((resolve, reject) => {
      navigator.locks
        .request(`tabswarm-identity-${slot}`, { ifAvailable: true }, (lock) => {
          resolve(lock != null)
          return lock != null ? held : undefined
        })
        .catch(reject)
    })
    if (granted) return { slot, release }
  }
  throw new Error(`more than ${MAX_SLOTS} tabs of this browser profile joined the swarm at once`)
}

/** The key stored under `keyName`, or undefined (with a warning) when the bytes are no key. */
function parseKey(bytes: Uint8Array, keyName: string): PrivateKey | undefined {
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    console.warn(`tab identity ${keyName} is corrupt, replacing it: ${(err as Error).message}`)
    return undefined
  }
}

/**
 * Loads the tab's libp2p private key from IndexedDB, or creates and stores an Ed25519 key
 * on the first visit. When storage is unavailable the tab still joins, with a key that
 * lasts only this page.
 */
export async function loadTabIdentity(
  options: { signal?: AbortSignal } = {},
): Promise<TabIdentity> {
  const signal = options.signal ?? AbortSignal.timeout(10_000)
  const { slot, release } = await claimSlot(signal)
  const keyName = `slot-${slot}`
  try {
    const db = await openDB(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore(STORE)
      },
    })
    try {
      const stored: unknown = await db.get(STORE, keyName)
      const loaded = stored instanceof Uint8Array ? parseKey(stored, keyName) : undefined
      if (loaded != null) {
        return { privateKey: loaded, slot, persisted: true, created: false, release }
      }
      // Nothing there, or something that is no key: a fresh key takes the slot for good.
      const privateKey = await generateKeyPair('Ed25519')
      await db.put(STORE, privateKeyToProtobuf(privateKey), keyName)
      return { privateKey, slot, persisted: true, created: true, release }
    } finally {
      db.close()
    }
  } catch (err) {
    if (signal.aborted) {
      // Nobody will hold this identity: the slot goes back at once, not when the page goes.
      release()
      throw signal.reason
    }
    console.warn(
      `tab identity not stored, using a key for this page only: ${(err as Error).message}`,
    )
    return {
      privateKey: await generateKeyPair('Ed25519'),
      slot,
      persisted: false,
      created: true,
      release,
    }
  }
}
