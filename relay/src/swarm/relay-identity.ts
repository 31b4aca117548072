import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

const KEY_FILE = 'relay-key'

/**
 * The relay's libp2p key, kept under the data directory so its peer id, and therefore its
 * multiaddr, survives restarts. Created on first start with owner-only permissions.
 */
export async function loadOrCreateRelayKey(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read relay key at ${path}: ${(err as Error).message}`, { cause: err })
    }
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true })
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  return key
}
