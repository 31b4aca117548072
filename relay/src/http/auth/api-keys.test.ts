import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  API_KEYS_FILE,
  addApiKey,
  createApiKeyRing,
  parseApiKeysEnv,
  readApiKeysFile,
} from './api-keys.ts'

describe('API keys', () => {
  it('parses account:key pairs into hashes and drops the keys', () => {
    const entries = parseApiKeysEnv(
      'alice:tsk_aaaaaaaaaaaaaaaaaaaaaaaa, tsk_bbbbbbbbbbbbbbbbbbbbbbbb',
    )
    expect(entries[0]).toEqual({
      account: 'alice',
      sha256: createHash('sha256').update('tsk_aaaaaaaaaaaaaaaaaaaaaaaa').digest('hex'),
    })
    expect(entries[1]!.account).toMatch(/^key-[0-9a-f]{12}$/)
    expect(JSON.stringify(entries)).not.toContain('tsk_')
    const ring = createApiKeyRing(entries)
    expect(ring.lookup('tsk_aaaaaaaaaaaaaaaaaaaaaaaa')).toBe('alice')
    expect(ring.lookup('tsk_aaaaaaaaaaaaaaaaaaaaaaab')).toBeUndefined()
  })

  it('refuses short keys and bad account names by entry', () => {
    expect(() => parseApiKeysEnv('alice:short')).toThrow(/entry 1 has a key of 5 characters/)
    expect(() => parseApiKeysEnv('0xabc:tsk_aaaaaaaaaaaaaaaaaaaaaaaa')).toThrow(
      /entry 1: account "0xabc"/,
    )
  })

  it('adds keys to the data dir file as hashes, and reads them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tabswarm-keys-'))
    try {
      expect(await readApiKeysFile(dir)).toEqual([])
      const key = await addApiKey(dir, 'ci')
      expect(key).toMatch(/^tsk_/)
      const text = await readFile(join(dir, API_KEYS_FILE), 'utf8')
      expect(text).not.toContain(key)
      expect(createApiKeyRing(await readApiKeysFile(dir)).lookup(key)).toBe('ci')
      await writeFile(join(dir, API_KEYS_FILE), '{"keys":[{"account":"x","sha256":"nothex"}]}')
      await expect(readApiKeysFile(dir)).rejects.toThrow(/keys\.0\.sha256/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
