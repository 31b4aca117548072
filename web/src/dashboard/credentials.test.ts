import { describe, expect, it } from 'vitest'
import { bearerOf, checkApiKey, loadCredentials, saveCredentials } from './credentials.ts'

/** sessionStorage's interface, in memory. */
function memoryStorage(): Storage {
  const items = new Map<string, string>()
  return {
    get length() {
      return items.size
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  }
}

describe('the dashboard’s credentials', () => {
  it('keeps an API key or a wallet session in storage, and forgets them at sign-out', () => {
    const storage = memoryStorage()
    expect(loadCredentials(storage)).toEqual({ kind: 'open' })
    saveCredentials({ kind: 'api-key', key: 'tsk_abc' }, storage)
    expect(loadCredentials(storage)).toEqual({ kind: 'api-key', key: 'tsk_abc' })
    expect(bearerOf(loadCredentials(storage))).toBe('tsk_abc')
    const session = {
      kind: 'wallet',
      token: 'tok',
      address: '0xabc',
      expiresAt: Date.now() + 60_000,
    } as const
    saveCredentials(session, storage)
    expect(loadCredentials(storage)).toEqual(session)
    saveCredentials({ kind: 'open' }, storage)
    expect(storage.length).toBe(0)
  })

  it('drops an expired session, and anything unreadable or not a key', () => {
    const storage = memoryStorage()
    saveCredentials(
      { kind: 'wallet', token: 'tok', address: '0xabc', expiresAt: Date.now() - 1 },
      storage,
    )
    expect(loadCredentials(storage)).toEqual({ kind: 'open' })
    storage.setItem('tabswarm.dashboard.credentials', '{not json')
    expect(loadCredentials(storage)).toEqual({ kind: 'open' })
    storage.setItem(
      'tabswarm.dashboard.credentials',
      JSON.stringify({ kind: 'api-key', key: 'a b' }),
    )
    expect(loadCredentials(storage)).toEqual({ kind: 'open' })
  })

  it('checks a pasted key: trimmed, printable, not empty', () => {
    expect(checkApiKey('  tsk_abc \n')).toBe('tsk_abc')
    expect(() => checkApiKey('   ')).toThrow(/enter an API key/)
    expect(() => checkApiKey('tsk abc')).toThrow(/without spaces/)
  })
})
