import { createHash } from 'node:crypto'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { silentLogger } from '../../log.ts'
import { createRelayMetrics } from '../../metrics/relay-metrics.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { type ApiOptions, createApi } from '../api.ts'
import { createApiKeyRing } from '../auth/api-keys.ts'
import { createWalletAuthenticator, type WalletAuthOptions } from '../auth/wallet-auth.ts'
import { createWalletSessions, type WalletSessions } from '../auth/wallet-sessions.ts'
import { createFakeCoordinatorApi, type FakeCoordinatorApi } from './fake-coordinator-api.ts'

export interface TestApiOptions extends Partial<Omit<ApiOptions, 'auth' | 'jobs'>> {
  jobs?: FakeCoordinatorApi
  /** account -> key; none means the API is open to local callers. */
  apiKeys?: Record<string, string>
  /** @default relayPeerId TEST_RELAY_PEER_ID, nonces in memory */
  wallet?: Partial<WalletAuthOptions>
  openToLocal?: boolean
  /** Wallet sessions; `false` for none. @default sessions in an in-memory SQLite store */
  sessions?: WalletSessions | false
}

/** The peer id the test API answers in `GET /v1/swarm` and expects wallet signatures to name. */
export const TEST_RELAY_PEER_ID = '12D3KooTest'

/** The real API over a fake coordinator and a memory blob store, for `app.request` tests. */
export function createTestApi(options: TestApiOptions = {}) {
  const jobs = options.jobs ?? createFakeCoordinatorApi()
  const blobs = options.blobs ?? createMemoryBlobStore()
  const metrics =
    options.metrics ?? createRelayMetrics({ stats: () => jobs.stats(), processMetrics: false })
  const sessions =
    options.sessions ?? createWalletSessions({ store: createSqliteStore({ path: ':memory:' }) })
  const keys = createApiKeyRing(
    Object.entries(options.apiKeys ?? {}).map(([account, key]) => ({
      account,
      sha256: createHash('sha256').update(key).digest('hex'),
    })),
  )
  const app = createApi({
    log: silentLogger,
    swarm: () => ({
      peerId: options.wallet?.relayPeerId ?? TEST_RELAY_PEER_ID,
      multiaddrs: ['/ip4/127.0.0.1/tcp/1/ws'],
    }),
    rateLimit: false,
    ...options,
    jobs,
    blobs,
    metrics,
    auth: {
      keys,
      wallet: createWalletAuthenticator({ relayPeerId: TEST_RELAY_PEER_ID, ...options.wallet }),
      ...(sessions !== false ? { sessions } : {}),
      openToLocal: options.openToLocal ?? keys.size === 0,
    },
  })
  return { app, jobs, blobs, metrics }
}

/** sha-256 hex of bytes. */
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
