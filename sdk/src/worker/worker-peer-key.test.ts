import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadWorkerPeerKey, peerKeyPathFor } from './worker-peer-key.ts'

describe('the worker peer key', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-peer-key-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('is named after the wallet key file, beside it', () => {
    expect(peerKeyPathFor('/c/tabswarm/worker-wallet.key')).toBe(
      '/c/tabswarm/worker-wallet.peer-key',
    )
    expect(peerKeyPathFor('/c/w0')).toBe('/c/w0.peer-key')
  })

  it('is written only by keep(), owner-only, and read back as the same peer id', async () => {
    const path = join(dir, 'sub', 'w.peer-key')
    const first = await loadWorkerPeerKey(path)
    await expect(stat(path)).rejects.toThrow(/ENOENT/)
    await first.keep()
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const again = await loadWorkerPeerKey(path)
    expect(again.privateKey.equals(first.privateKey)).toBe(true)
    // keep() on a key read from the file leaves the file as it is.
    const bytes = await readFile(path)
    await again.keep()
    expect(await readFile(path)).toEqual(bytes)
  })

  it('a corrupt file is an error naming it and the fix', async () => {
    const path = join(dir, 'corrupt.peer-key')
    await writeFile(path, 'not a key')
    await expect(loadWorkerPeerKey(path)).rejects.toThrow(
      new RegExp(
        `${path.replace(/[.]/g, '\\.')} does not hold a libp2p private key .*delete it to start with a new peer id`,
      ),
    )
  })
})
