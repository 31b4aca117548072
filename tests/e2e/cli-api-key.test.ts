import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/run-cli.ts'
import { startTabswarmProcess } from '../support/tabswarm-process.ts'

/** An operator issues a key with `tabswarm api-key`; the relay then wants it on every call. */
describe('tabswarm api-key', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-api-key-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('prints a key once, keeps only its hash, and the relay requires it', async () => {
    const issued = await runCli(['api-key', 'alice', '--data-dir', dir, '--json'])
    expect(issued.code, issued.stderr).toBe(0)
    const { account, key } = JSON.parse(issued.stdout) as { account: string; key: string }
    expect(account).toBe('alice')
    expect(key).toMatch(/^tsk_[A-Za-z0-9_-]{32}$/)
    const file = await readFile(join(dir, 'api-keys.json'), 'utf8')
    expect(file).not.toContain(key)
    expect(JSON.parse(file)).toMatchObject({ keys: [{ account: 'alice' }] })

    const relay = await startTabswarmProcess({ dataDir: dir })
    try {
      const jobs = (headers: Record<string, string>) =>
        fetch(`${relay.url}/v1/jobs`, { headers, signal: AbortSignal.timeout(10_000) })
      expect((await jobs({})).status).toBe(401)
      expect((await jobs({ authorization: `Bearer ${key}x` })).status).toBe(401)
      expect((await jobs({ authorization: `Bearer ${key}` })).status).toBe(200)
      const listed = await runCli(['jobs', '--json', '--relay', relay.url, '--api-key', key])
      expect(listed.code, listed.stderr).toBe(0)
      expect(JSON.parse(listed.stdout)).toEqual([])
    } finally {
      await relay.stop()
    }
  })

  it('refuses an account name the relay could not read back, writing nothing', async () => {
    const empty = join(dir, 'untouched')
    const result = await runCli(['api-key', '0xabc', '--data-dir', empty])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/not an account name: "0xabc"/)
    await expect(readFile(join(empty, 'api-keys.json'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
