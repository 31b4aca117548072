import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { InvalidInputError } from '../client/client-errors.ts'

/**
 * Where a headless worker keeps its wallet key unless told otherwise:
 * `$XDG_CONFIG_HOME/tabswarm/worker-wallet.key`, else `~/.config/tabswarm/worker-wallet.key`.
 *
 * @example
 * defaultWalletKeyPath({ XDG_CONFIG_HOME: '/tmp/cfg' }) // '/tmp/cfg/tabswarm/worker-wallet.key'
 */
export function defaultWalletKeyPath(
  env: Record<string, string | undefined> = process.env,
): string {
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config')
  return join(configHome, 'tabswarm', 'worker-wallet.key')
}

const KEY = /^0x[0-9a-fA-F]{64}$/

/**
 * The wallet a headless worker is credited to: from `TABSWARM_WALLET_KEY` when set, else a
 * key kept in a file (created on first run, readable only by its owner), so a worker earns
 * into the same address run after run, as a tab does with its key in IndexedDB.
 *
 * @example
 * const { account, source } = await loadWorkerWallet({ keyFile: './worker.key' })
 * console.log(`crediting ${account.address} (key: ${source})`)
 */
export async function loadWorkerWallet(
  options: { keyFile?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ account: LocalAccount; source: string }> {
  const env = options.env ?? process.env
  const fromEnv = env.TABSWARM_WALLET_KEY
  if (fromEnv) {
    if (!KEY.test(fromEnv))
      throw new InvalidInputError('TABSWARM_WALLET_KEY must be 0x followed by 64 hex digits')
    return { account: privateKeyToAccount(fromEnv as `0x${string}`), source: 'TABSWARM_WALLET_KEY' }
  }
  const path = options.keyFile ?? defaultWalletKeyPath(env)
  let key: string
  try {
    key = (await readFile(path, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new InvalidInputError(
        `cannot read the wallet key ${path} (${(err as NodeJS.ErrnoException).code})`,
      )
    key = generatePrivateKey()
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    // `wx`: never overwrite a key another worker created meanwhile.
    await writeFile(path, `${key}\n`, { flag: 'wx', mode: 0o600 }).catch(async (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      key = (await readFile(path, 'utf8')).trim()
    })
    await chmod(path, 0o600)
  }
  if (!KEY.test(key)) throw new InvalidInputError(`${path} does not hold a 0x-prefixed 32-byte key`)
  return { account: privateKeyToAccount(key as `0x${string}`), source: path }
}
