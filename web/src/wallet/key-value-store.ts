/**
 * Where the page keeps its wallet state (the local key, signed bindings): IndexedDB in the
 * page (`indexedDbStore`), a Map in tests (`memoryStore`), so the wallet logic runs and is
 * tested in Node without a fake IndexedDB.
 */
export interface KeyValueStore {
  get(key: string): Promise<unknown>
  put(key: string, value: unknown): Promise<void>
  /**
   * Stores `value` unless `key` holds something already, in one step (one IndexedDB
   * transaction): two tabs that create a key at once end up with the same one.
   * @returns what `key` holds afterwards
   */
  putIfAbsent(key: string, value: unknown): Promise<unknown>
  delete(key: string): Promise<void>
}

/** A store that lasts as long as the object: for tests, and a page whose storage is blocked. */
export function memoryStore(): KeyValueStore {
  const values = new Map<string, unknown>()
  return {
    get: async (key) => structuredClone(values.get(key)),
    put: async (key, value) => {
      values.set(key, structuredClone(value))
    },
    putIfAbsent: async (key, value) => {
      if (!values.has(key)) values.set(key, structuredClone(value))
      return structuredClone(values.get(key))
    },
    delete: async (key) => {
      values.delete(key)
    },
  }
}
