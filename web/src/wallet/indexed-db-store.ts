import { openDB } from 'idb'
import type { KeyValueStore } from './key-value-store.ts'

/** IndexedDB database and store of the page's wallet state, apart from the libp2p identity's. */
const WALLET_DB = { database: 'tabswarm-wallet', store: 'wallet' } as const

/**
 * A key-value store in IndexedDB, shared by every tab of the browser profile: by default the
 * page's wallet state; the controls keep theirs in a database of their own. Opens the
 * database per call and closes it after, so a tab holds no connection that would block a
 * later version's upgrade in another tab.
 */
export function indexedDbStore(
  where: { database: string; store: string } = WALLET_DB,
): KeyValueStore {
  const { database: DB_NAME, store: STORE } = where
  const open = () =>
    openDB(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore(STORE)
      },
    })
  const withDb = async <T>(work: (db: Awaited<ReturnType<typeof open>>) => Promise<T>) => {
    const db = await open()
    try {
      return await work(db)
    } finally {
      db.close()
    }
  }
  return {
    get: (key) => withDb((db) => db.get(STORE, key)),
    put: (key, value) => withDb(async (db) => void (await db.put(STORE, value, key))),
    putIfAbsent: (key, value) =>
      withDb(async (db) => {
        const tx = db.transaction(STORE, 'readwrite')
        const existing: unknown = await tx.store.get(key)
        if (existing === undefined) await tx.store.put(value, key)
        await tx.done
        return existing === undefined ? value : existing
      }),
    delete: (key) => withDb((db) => db.delete(STORE, key)),
  }
}
