import { describe, expect, it } from 'vitest'
import { createClient } from '../client/client.ts'
import { InvalidInputError, RelayResponseError } from '../client/client-errors.ts'

const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const ROOT = `0x${'ab'.repeat(32)}`
/** Beyond 2^53: a float would round it. */
const BIG = '123456789012345678901234567890'

type Answer = { status?: number; body: unknown }

/** A client over a fetch that answers from `routes` (`METHOD /path`) and records each request. */
function clientWith(routes: Record<string, Answer | ((body: unknown) => Answer)>) {
  const requests: Array<{ method: string; path: string; body: unknown; signal: AbortSignal }> = []
  const fetch = (async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    const path = new URL(url).pathname
    const body = init.body
      ? JSON.parse(new TextDecoder().decode(init.body as Uint8Array))
      : undefined
    requests.push({ method, path, body, signal: init.signal! })
    const route = routes[`${method} ${path}`]
    if (route == null)
      return Response.json({ error: { code: 'NOT_FOUND', message: 'no route' } }, { status: 404 })
    const answer = typeof route === 'function' ? route(body) : route
    return Response.json(answer.body, { status: answer.status ?? 200 })
  }) as typeof globalThis.fetch
  return { client: createClient({ relay: 'http://relay.test', fetch }), requests }
}

const info = {
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  distributor: ADDRESS,
  token: { address: ADDRESS, symbol: 'TSC', decimals: 18 },
  unitsPerCredit: '1000000000000000000',
  siteShareBps: 1000,
  epochIntervalMs: 60_000,
  latestEpoch: 2,
}
const summary = {
  epoch: 2,
  root: ROOT,
  cumulativeTotal: BIG,
  leaves: 3,
  state: 'confirmed',
  txHash: ROOT,
  closedAt: 1,
}

describe('settlement calls of the SDK client', () => {
  it('reads where credits settle, unitsPerCredit as a bigint', async () => {
    const { client } = clientWith({ 'GET /v1/settlement': { body: info } })
    const settlement = await client.settlement()
    expect(settlement.unitsPerCredit).toBe(10n ** 18n)
    expect(settlement.token).toEqual({ address: ADDRESS, symbol: 'TSC', decimals: 18 })
  })

  it("reads a wallet's three figures and its claim as exact bigints", async () => {
    const { client, requests } = clientWith({
      [`GET /v1/settlement/accounts/${ADDRESS}`]: {
        body: {
          address: ADDRESS,
          pending: BIG,
          claimable: '9007199254740993',
          claimed: '0',
          claim: {
            epoch: 2,
            root: ROOT,
            account: ADDRESS,
            cumulativeAmount: '9007199254740993',
            proof: [ROOT],
          },
        },
      },
    })
    const credits = await client.walletCredits(ADDRESS)
    expect(credits.pending).toBe(123456789012345678901234567890n)
    expect(credits.claimable).toBe(9007199254740993n)
    expect(credits.claimed).toBe(0n)
    expect(credits.claim?.cumulativeAmount).toBe(9007199254740993n)
    expect(requests[0]!.signal).toBeInstanceOf(AbortSignal)
  })

  it('refuses a malformed address before sending anything', async () => {
    const { client, requests } = clientWith({})
    await expect(client.walletCredits('0x123')).rejects.toThrow(InvalidInputError)
    await expect(client.requestClaim([ADDRESS, 'alice'])).rejects.toThrow(/accounts\[1\]/)
    await expect(client.requestClaim([])).rejects.toThrow(InvalidInputError)
    expect(requests).toEqual([])
  })

  it('names the field of a malformed answer (a float where money should be)', async () => {
    const { client } = clientWith({
      [`GET /v1/settlement/accounts/${ADDRESS}`]: {
        body: { address: ADDRESS, pending: 1.5, claimable: '0', claimed: '0', claim: null },
      },
    })
    const err = await client.walletCredits(ADDRESS).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RelayResponseError)
    expect((err as Error).message).toMatch(/pending/)
  })

  it('lists epochs from a bare list or { epochs }, and reads one with its tree', async () => {
    const tree = {
      format: 'standard-v1',
      leafEncoding: ['address', 'uint256'],
      tree: [ROOT],
      values: [{ value: [ADDRESS, BIG], treeIndex: 0 }],
    }
    for (const body of [[summary], { epochs: [summary] }]) {
      const { client } = clientWith({
        'GET /v1/settlement/epochs': { body },
        'GET /v1/settlement/epochs/2': { body: { ...summary, tree } },
      })
      const [first] = await client.epochs()
      expect(first?.cumulativeTotal).toBe(123456789012345678901234567890n)
      const view = await client.epoch(2)
      expect(view.tree.values[0]?.value[1]).toBe(BIG)
      await expect(client.epoch(0)).rejects.toThrow(InvalidInputError)
    }
  })

  it('closes an epoch and asks the relay to submit claims, with the bodies the API takes', async () => {
    const { client, requests } = clientWith({
      'POST /v1/settlement/epochs': { body: summary },
      'POST /v1/settlement/claims': { body: { txHash: ROOT, accounts: [ADDRESS] } },
    })
    expect((await client.closeEpoch()).epoch).toBe(2)
    const submission = await client.requestClaim([ADDRESS])
    expect(submission.txHash).toBe(ROOT)
    expect(requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/settlement/epochs', {}],
      ['POST', '/v1/settlement/claims', { accounts: [ADDRESS] }],
    ])
  })

  it('passes the API error through and honours a call timeout', async () => {
    const { client } = clientWith({
      'POST /v1/settlement/claims': {
        status: 409,
        body: { error: { code: 'NOTHING_TO_CLAIM', message: 'nothing to claim' } },
      },
    })
    await expect(client.requestClaim([ADDRESS])).rejects.toMatchObject({
      code: 'NOTHING_TO_CLAIM',
      status: 409,
    })
    const hanging = createClient({
      relay: 'http://relay.test',
      fetch: ((_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => {
          if (init.signal?.aborted) return reject(init.signal.reason)
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
        })) as typeof fetch,
    })
    const started = performance.now()
    await expect(hanging.settlement({ timeoutMs: 50 })).rejects.toThrow()
    expect(performance.now() - started).toBeLessThan(5_000)
    const aborted = AbortSignal.abort(new Error('stop'))
    await expect(hanging.settlement({ signal: aborted })).rejects.toThrow('stop')
  })
})
