import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidInputError } from '../client/client-errors.ts'

/**
 * A headless worker's libp2p identity (its peer id), kept in a file so the relay sees the
 * same peer run after run, as a tab keeps its key in IndexedDB and the relay its own under
 * its data directory. The file holds the key as libp2p's protobuf encoding, readable only
 * by its owner.
 */
export interface WorkerPeerKey {
  privateKey: PrivateKey
  /** Where it is kept. */
  path: string
  /**
   * Writes a new key to `path` (a key read from it is left alone). Called once the relay has
   * answered, so a relay that is not there leaves no file behind, as for the wallet key. A
   * file another worker created meanwhile is kept: that key is the one used from the next run.
   */
  keep(): Promise<void>
}

/**
 * The peer key file that goes with a wallet key file: beside it, named after it
 * (`worker-wallet.key` → `worker-wallet.peer-key`), so workers given different wallet files
 * also get different peer ids.
 *
 * @example
 * peerKeyPathFor('/home/me/.config/tabswarm/worker-wallet.key') // '/home/me/.config/tabswarm/worker-wallet.peer-key'
 */
export function peerKeyPathFor(walletKeyFile: string): string {
  return walletKeyFile.endsWith('.key')
    ? `${walletKeyFile.slice(0, -'.key'.length)}.peer-key`
    : `${walletKeyFile}.peer-key`
}

const FIX = `delete it to start with a new peer id (the wallet, and the credits it earned, are kept apart), or pass another --peer-key-file`

/**
 * The worker's peer key from `path`, or a new one (written by `keep()`) when there is none.
 * A file that cannot be read or does not hold a libp2p private key is an
 * `InvalidInputError` that names it and the fix.
 *
 * @example
 * const peer = await loadWorkerPeerKey('/home/me/.config/tabswarm/worker-wallet.peer-key')
 * const node = await createWorkerNode({ privateKey: peer.privateKey })
 */
export async function loadWorkerPeerKey(path: string): Promise<WorkerPeerKey> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT')
      throw new InvalidInputError(`cannot read the worker's peer key ${path} (${code})`)
  }
  if (bytes != null) {
    const privateKey = parsePeerKey(path, bytes)
    return { privateKey, path, keep: async () => undefined }
  }
  const privateKey = await generateKeyPair('Ed25519')
  return {
    privateKey,
    path,
    async keep() {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      try {
        // `wx`: never overwrite a key another worker created meanwhile.
        await writeFile(path, privateKeyToProtobuf(privateKey), { flag: 'wx', mode: 0o600 })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return
        throw err
      }
      // The mode given to writeFile is filtered by the umask; the key is the owner's alone.
      await chmod(path, 0o600)
    },
  }
}

function parsePeerKey(path: string, bytes: Uint8Array): PrivateKey {
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidInputError(
      `${path} does not hold a libp2p private key (${(err as Error).message}): ${FIX}`,
    )
  }
}
