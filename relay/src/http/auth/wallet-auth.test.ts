import {
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  WALLET_AUTH_HEADERS,
  walletRequestHeaders,
} from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createWalletAuthenticator, type SignedRequest } from './wallet-auth.ts'

const wallet = privateKeyToAccount(generatePrivateKey())
const RELAY = '12D3KooWRelayA'

async function request(
  now: number,
  nonce: string,
  overrides: Record<string, string | undefined> = {},
  relay = RELAY,
): Promise<SignedRequest> {
  const typed = apiRequestTypedData({
    method: 'GET',
    path: '/v1/jobs',
    bodySha256: EMPTY_BODY_SHA256,
    timestamp: BigInt(now),
    nonce,
    relay,
  })
  const headers: Record<string, string | undefined> = {
    ...walletRequestHeaders(wallet.address, typed.message, await wallet.signTypedData(typed)),
    [WALLET_AUTH_HEADERS.address]: wallet.address.toLowerCase(),
    ...overrides,
  }
  return { method: 'GET', path: '/v1/jobs', header: (name) => headers[name] }
}

describe('wallet request signatures', () => {
  it('accepts a lower-case address and answers with the checksummed one and the signed body hash', async () => {
    const auth = createWalletAuthenticator({ relayPeerId: RELAY, now: () => 1_000_000 })
    expect(await auth.verify(await request(1_000_000, 'nonce-0001'))).toEqual({
      ok: true,
      address: wallet.address,
      bodySha256: EMPTY_BODY_SHA256.slice(2),
    })
  })

  it('refuses a request signed for another relay, naming both peer ids', async () => {
    const auth = createWalletAuthenticator({ relayPeerId: RELAY, now: () => 1_000_000 })
    const forB = await request(1_000_000, 'nonce-0010', {}, '12D3KooWRelayB')
    expect(await auth.verify(forB)).toMatchObject({
      ok: false,
      code: 'WRONG_RELAY',
      message: expect.stringMatching(/12D3KooWRelayB.*12D3KooWRelayA/),
    })
    // Claiming this relay in the header does not help: the signature names the other one.
    const relabelled = await request(
      1_000_000,
      'nonce-0011',
      { [WALLET_AUTH_HEADERS.relay]: RELAY },
      '12D3KooWRelayB',
    )
    expect(await auth.verify(relabelled)).toMatchObject({ ok: false, code: 'INVALID_SIGNATURE' })
  })

  it('accepts a request signed for another relay of its cluster, once across the cluster, and no other relay', async () => {
    let unreadable = false
    const auth = createWalletAuthenticator({
      relayPeerId: RELAY,
      now: () => 1_000_000,
      clusterPeerIds: async () => {
        if (unreadable) throw new Error('database away')
        return new Set(['12D3KooWRelayB'])
      },
    })
    const forB = await request(1_000_000, 'nonce-0020', {}, '12D3KooWRelayB')
    expect(await auth.verify(forB)).toMatchObject({ ok: true })
    expect(await auth.verify(forB)).toMatchObject({ ok: false, code: 'SIGNATURE_REPLAYED' })
    const forC = await request(1_000_000, 'nonce-0021', {}, '12D3KooWRelayC')
    expect(await auth.verify(forC)).toMatchObject({ ok: false, code: 'WRONG_RELAY' })
    // The cluster's list unreadable: only this relay's own id is accepted.
    unreadable = true
    const laterForB = await request(1_000_000, 'nonce-0022', {}, '12D3KooWRelayB')
    expect(await auth.verify(laterForB)).toMatchObject({ ok: false, code: 'WRONG_RELAY' })
    expect(await auth.verify(await request(1_000_000, 'nonce-0023'))).toMatchObject({ ok: true })
  })

  it('refuses an old-format (version 1) request with an error that names the fix', async () => {
    const auth = createWalletAuthenticator({ relayPeerId: RELAY, now: () => 1_000_000 })
    const old = await request(1_000_000, 'nonce-0012', {
      [WALLET_AUTH_HEADERS.relay]: undefined,
      [WALLET_AUTH_HEADERS.contentSha256]: undefined,
    })
    expect(await auth.verify(old)).toMatchObject({
      ok: false,
      code: 'SIGNATURE_OUTDATED',
      message: expect.stringMatching(/x-tabswarm-relay.*Update @tabswarm\/sdk/s),
    })
  })

  it('checks the freshness window both ways', async () => {
    const auth = createWalletAuthenticator({
      relayPeerId: RELAY,
      now: () => 1_000_000,
      maxSkewMs: 1_000,
    })
    expect(await auth.verify(await request(998_999, 'nonce-0002'))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_EXPIRED',
    })
    expect(await auth.verify(await request(1_001_001, 'nonce-0003'))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_EXPIRED',
    })
    expect(await auth.verify(await request(1_001_000, 'nonce-0004'))).toMatchObject({ ok: true })
  })

  it('names malformed headers', async () => {
    const auth = createWalletAuthenticator({ relayPeerId: RELAY, now: () => 1_000_000 })
    const short = await request(1_000_000, 'nonce-0005', { [WALLET_AUTH_HEADERS.nonce]: 'abc' })
    expect(await auth.verify(short)).toMatchObject({
      code: 'INVALID_SIGNATURE',
      message: expect.stringContaining('x-tabswarm-nonce'),
    })
    const noAddress = await request(1_000_000, 'nonce-0006', {
      [WALLET_AUTH_HEADERS.address]: 'me',
    })
    expect(await auth.verify(noAddress)).toMatchObject({
      message: expect.stringContaining('x-tabswarm-address'),
    })
    const badHash = await request(1_000_000, 'nonce-0007', {
      [WALLET_AUTH_HEADERS.contentSha256]: 'abc',
    })
    expect(await auth.verify(badHash)).toMatchObject({
      message: expect.stringContaining('x-tabswarm-content-sha256'),
    })
  })

  it('refuses a nonce used before', async () => {
    const auth = createWalletAuthenticator({ relayPeerId: RELAY, now: () => 1_000_000 })
    const once = await request(1_000_000, 'nonce-0008')
    expect(await auth.verify(once)).toMatchObject({ ok: true })
    expect(await auth.verify(once)).toMatchObject({ ok: false, code: 'SIGNATURE_REPLAYED' })
  })

  it('remembers nonces only within the window, and bounds how many', async () => {
    let now = 1_000_000
    const auth = createWalletAuthenticator({
      relayPeerId: RELAY,
      now: () => now,
      maxSkewMs: 1_000,
      maxRemembered: 2,
    })
    expect(await auth.verify(await request(now, 'nonce-a-0001'))).toMatchObject({ ok: true })
    expect(await auth.verify(await request(now, 'nonce-b-0001'))).toMatchObject({ ok: true })
    expect(await auth.verify(await request(now, 'nonce-c-0001'))).toMatchObject({
      ok: false,
      code: 'AUTH_BUSY',
    })
    now += 2_001
    // The first two can no longer pass the freshness check, so they are forgotten to make room.
    expect(await auth.verify(await request(now, 'nonce-c-0001'))).toMatchObject({ ok: true })
  })
})
