/**
 * How the dashboard signs its requests: nothing (a relay open to its local user), an API
 * key, or a wallet session's bearer token. Kept in `sessionStorage` (this tab only, gone
 * when it closes) and never in a URL, where it would reach history and server logs.
 */
export type Credentials =
  | { kind: 'open' }
  | { kind: 'api-key'; key: string }
  | { kind: 'wallet'; token: string; address: string; expiresAt?: number | undefined }

const STORAGE_KEY = 'tabswarm.dashboard.credentials'
/** Longest API key or token the page keeps. */
const MAX_SECRET_CHARS = 512

/** The bearer token requests carry, if any. */
export function bearerOf(credentials: Credentials): string | undefined {
  return credentials.kind === 'api-key'
    ? credentials.key
    : credentials.kind === 'wallet'
      ? credentials.token
      : undefined
}

/** Who the page acts as, in words. */
export function describeCredentials(credentials: Credentials): string {
  switch (credentials.kind) {
    case 'open':
      return 'the local account (this relay is open to its own computer)'
    case 'api-key':
      return `an API key ending …${credentials.key.slice(-4)}`
    case 'wallet':
      return `wallet ${credentials.address}`
  }
}

export function loadCredentials(storage: Storage = sessionStorage): Credentials {
  try {
    const value = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Partial<Credentials> | null
    if (value?.kind === 'api-key' && isSecret(value.key)) return { kind: 'api-key', key: value.key }
    if (
      value?.kind === 'wallet' &&
      isSecret(value.token) &&
      typeof value.address === 'string' &&
      (value.expiresAt == null || value.expiresAt > Date.now())
    )
      return {
        kind: 'wallet',
        token: value.token,
        address: value.address,
        expiresAt: value.expiresAt,
      }
  } catch {
    // Unreadable: start signed out.
  }
  return { kind: 'open' }
}

export function saveCredentials(credentials: Credentials, storage: Storage = sessionStorage): void {
  if (credentials.kind === 'open') storage.removeItem(STORAGE_KEY)
  else storage.setItem(STORAGE_KEY, JSON.stringify(credentials))
}

/** Checks a pasted API key: printable, no spaces, not absurdly long. */
export function checkApiKey(text: string): string {
  const key = text.trim()
  if (key.length === 0) throw new Error('enter an API key')
  if (!isSecret(key))
    throw new Error(
      `an API key is up to ${MAX_SECRET_CHARS} printable characters without spaces; check what you pasted`,
    )
  return key
}

function isSecret(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_SECRET_CHARS &&
    /^[\x21-\x7e]+$/.test(value)
  )
}
