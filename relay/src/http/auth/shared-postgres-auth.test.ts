import { apiRequestTypedData, EMPTY_BODY_SHA256, walletRequestHeaders } from '@tabswarm/protocol'
import type pg from 'pg'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auxiliaryTables } from '../../store/postgres/migrations/auxiliary-tables.ts'
import { createPostgresAuxiliaryStore } from '../../store/postgres/postgres-auxiliary-store.ts'
import { applyPostgresMigrations } from '../../store/postgres/postgres-migrations.ts'
import { createPostgresPool } from '../../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../../store/postgres/testing/postgres-server.ts'
import { createWalletAuthenticator, type SignedRequest } from './wallet-auth.ts'
import { createWalletSessions } from './wallet-sessions.ts'

/**
 * Two relays of one cluster authenticating over the nonces and sessions they share in
 * PostgreSQL (each through a pool of its own, as two processes would): a signed request
 * accepted by one is refused by the other, even sent to both at once, and a session opened
 * on one is known, and revoked, on both.
 */

const wallet = privateKeyToAccount(generatePrivateKey())
/** One identity for the cluster's HTTP API, as relays behind one load balancer would need. */
const CLUSTER_PEER_ID = '12D3KooWClusterAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

let server: PostgresServer
let pools: pg.Pool[] = []

beforeAll(async () => {
  server = await startPostgresServer()
  const url = await server.createDatabase()
  pools = [createPostgresPool(url, { max: 4 }), createPostgresPool(url, { max: 4 })]
  await applyPostgresMigrations(pools[0]!, [auxiliaryTables])
}, 120_000)

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()))
  await server?.stop()
})

async function signedRequest(at: number, nonce: string): Promise<SignedRequest> {
  const typed = apiRequestTypedData({
    method: 'POST',
    path: '/v1/jobs',
    bodySha256: EMPTY_BODY_SHA256,
    timestamp: BigInt(at),
    nonce,
    relay: CLUSTER_PEER_ID,
  })
  const headers = walletRequestHeaders(
    wallet.address,
    typed.message,
    await wallet.signTypedData(typed),
  ) as Record<string, string | undefined>
  return { method: 'POST', path: '/v1/jobs', header: (name) => headers[name] }
}

describe('authentication on relays sharing PostgreSQL', () => {
  it('accepts a signed request on one relay only, even sent to both at once', async () => {
    const [a, b] = pools.map((pool) =>
      createWalletAuthenticator({
        relayPeerId: CLUSTER_PEER_ID,
        nonces: createPostgresAuxiliaryStore(pool),
      }),
    )
    for (let i = 0; i < 5; i++) {
      const request = await signedRequest(Date.now(), `cluster-nonce-${i}`)
      const answers = await Promise.all([a!.verify(request), b!.verify(request)])
      expect(answers.filter((answer) => answer.ok)).toHaveLength(1)
      expect(answers.find((answer) => !answer.ok)).toMatchObject({ code: 'SIGNATURE_REPLAYED' })
      // Sent again later, to either: refused.
      expect(await a!.verify(request)).toMatchObject({ ok: false, code: 'SIGNATURE_REPLAYED' })
      expect(await b!.verify(request)).toMatchObject({ ok: false, code: 'SIGNATURE_REPLAYED' })
    }
  })

  it('knows a session opened on one relay on the other, until either revokes it', async () => {
    const [a, b] = pools.map((pool) =>
      createWalletSessions({ store: createPostgresAuxiliaryStore(pool) }),
    )
    const session = await a!.open(wallet.address, 60_000)
    expect(await b!.lookup(session.token)).toEqual({
      ok: true,
      account: wallet.address,
      expiresAt: session.expiresAt,
    })
    expect(await b!.revoke(session.token)).toBe(true)
    expect(await a!.lookup(session.token)).toMatchObject({ ok: false, code: 'INVALID_SESSION' })
    expect(await a!.revoke(session.token)).toBe(false)
  })
})
