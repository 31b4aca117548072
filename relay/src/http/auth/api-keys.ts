import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'

/** Account names: what jobs and credits are filed under. `0x…` is kept for wallet addresses. */
export const AccountNameSchema = z
  .string()
  .regex(
    /^(?!0x)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'account names are 1-64 of [A-Za-z0-9._-], not starting with 0x',
  )

/** Shortest API key accepted, so no key can be guessed by trying. */
export const MIN_API_KEY_LENGTH = 24

/** Keys file under the data directory: only sha-256 hashes of keys are stored. */
export const API_KEYS_FILE = 'api-keys.json'

const KeysFileSchema = z.object({
  keys: z.array(
    z.object({
      account: AccountNameSchema,
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex sha-256 of the key'),
    }),
  ),
})

/** Which accounts hold which keys, by the keys' hashes. */
export interface ApiKeyRing {
  /** The account whose key this is, or undefined. Time does not depend on which key matched. */
  lookup(key: string): string | undefined
  readonly size: number
}

const hashKey = (key: string) => createHash('sha256').update(key, 'utf8').digest()

/**
 * A key ring over `{ account, sha256 }` entries. Lookup hashes the presented key and compares
 * it with every entry in constant time, so neither a near miss nor a match shows in timing.
 */
export function createApiKeyRing(
  entries: ReadonlyArray<{ account: string; sha256: string }>,
): ApiKeyRing {
  const ring = entries.map((entry) => ({
    account: AccountNameSchema.parse(entry.account),
    hash: Buffer.from(entry.sha256, 'hex'),
  }))
  return {
    lookup(key) {
      const presented = hashKey(key)
      let found: string | undefined
      for (const entry of ring) {
        if (timingSafeEqual(entry.hash, presented) && found === undefined) found = entry.account
      }
      return found
    },
    get size() {
      return ring.length
    },
  }
}

/**
 * Parses `TABSWARM_API_KEYS`: comma-separated `account:key` pairs (a bare `key` is filed under
 * `key-<first 12 hex of its hash>`). The keys themselves are hashed at once and dropped.
 *
 * @example parseApiKeysEnv('alice:tsk_3b1f…,ci:tsk_77ae…')
 */
export function parseApiKeysEnv(raw: string): Array<{ account: string; sha256: string }> {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item, index) => {
      const colon = item.indexOf(':')
      const key = colon === -1 ? item : item.slice(colon + 1)
      if (key.length < MIN_API_KEY_LENGTH) {
        throw new Error(
          `TABSWARM_API_KEYS entry ${index + 1} has a key of ${key.length} characters; keys need at least ${MIN_API_KEY_LENGTH}`,
        )
      }
      const sha256 = hashKey(key).toString('hex')
      const account = colon === -1 ? `key-${sha256.slice(0, 12)}` : item.slice(0, colon)
      const parsed = AccountNameSchema.safeParse(account)
      if (!parsed.success) {
        throw new Error(
          `TABSWARM_API_KEYS entry ${index + 1}: account "${account}": ${parsed.error.issues[0]?.message}`,
        )
      }
      return { account, sha256 }
    })
}

/** Reads `<dataDir>/api-keys.json`; a missing file is an empty list, a malformed one an error. */
export async function readApiKeysFile(
  dataDir: string,
): Promise<Array<{ account: string; sha256: string }>> {
  const path = join(dataDir, API_KEYS_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`${path} is not valid JSON`)
  }
  const parsed = KeysFileSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${path}: ${issue?.path.join('.') || 'file'}: ${issue?.message}`)
  }
  return parsed.data.keys
}

/**
 * Creates a new API key for `account`, appends its hash to `<dataDir>/api-keys.json` and
 * returns the key: the only time it exists in clear.
 */
export async function addApiKey(dataDir: string, account: string): Promise<string> {
  AccountNameSchema.parse(account)
  const keys = await readApiKeysFile(dataDir)
  const key = `tsk_${randomBytes(24).toString('base64url')}`
  keys.push({ account, sha256: hashKey(key).toString('hex') })
  const path = join(dataDir, API_KEYS_FILE)
  await writeFile(`${path}.tmp`, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
  return key
}
