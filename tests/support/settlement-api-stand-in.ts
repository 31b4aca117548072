import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hex } from 'viem'
import { cumulativeMerkleDistributorAbi } from '../../relay/src/settlement/contracts/CumulativeMerkleDistributor.artifact.ts'
import type { DistributorChain } from './distributor-chain.ts'

/**
 * A stand-in for the relay's settlement HTTP API (`/v1/settlement…`, the views of
 * `@tabswarm/protocol`'s settlement-views.ts) over a real distributor chain, for testing the
 * CLI and the SDK before the relay serves it: `ledger` holds each wallet's cumulative
 * payout (what the coordinator would take from its ledger), `POST /epochs` posts it as the
 * next root, `POST /claims` submits `claimMany` from the owner, paying the gas.
 */
export interface SettlementApiStandIn {
  url: string
  /** Cumulative payouts in base units, by wallet; raise them to make credits pending. */
  ledger: Map<Hex, bigint>
  /** The requests it answered, `METHOD /path`. */
  requests: string[]
  close(): Promise<void>
}

export async function startSettlementApiStandIn(
  chain: DistributorChain,
  options: {
    /** False: `GET /v1/settlement` publishes no RPC URL. @default true */
    publishRpcUrl?: boolean
    /** Another stand-in's ledger, to share a chain's roots with it. */
    ledger?: Map<Hex, bigint>
  } = {},
): Promise<SettlementApiStandIn> {
  const ledger = options.ledger ?? new Map<Hex, bigint>()
  const requests: string[] = []
  /** What the latest posted root pays each wallet. */
  let posted = new Map([...ledger].map(([a, v]) => [a.toLowerCase(), v]))
  let closedAt = 0

  const summary = () => ({
    epoch: chain.epoch(),
    root: chain.root(),
    cumulativeTotal: [...posted.values()].reduce((a, b) => a + b, 0n).toString(),
    leaves: posted.size,
    state: 'confirmed',
    txHash: null,
    closedAt,
  })

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname
    requests.push(`${req.method} ${path}`)
    let body = ''
    for await (const chunk of req) body += chunk
    try {
      if (req.method === 'GET' && path === '/v1/settlement')
        return send(200, {
          chainId: chain.chain.id,
          rpcUrl: options.publishRpcUrl === false ? null : chain.rpcUrl,
          distributor: chain.distributor,
          token: { address: chain.token, symbol: 'TSC', decimals: 18 },
          unitsPerCredit: (10n ** 18n).toString(),
          siteShareBps: 1000,
          epochIntervalMs: null,
          latestEpoch: chain.epoch(),
        })
      const account = /^\/v1\/settlement\/accounts\/(0x[0-9a-fA-F]{40})$/.exec(path)?.[1] as
        | Hex
        | undefined
      if (req.method === 'GET' && account) {
        const credits = await chain.creditsOf(account)
        const earned = ledger.get(account) ?? 0n
        const inRoot = posted.get(account.toLowerCase()) ?? 0n
        return send(200, {
          address: account,
          pending: (earned - inRoot).toString(),
          claimable: credits.claimable.toString(),
          claimed: credits.claimed.toString(),
          claim: credits.claim && {
            ...credits.claim,
            cumulativeAmount: credits.claim.cumulativeAmount.toString(),
          },
        })
      }
      // Wallet-signed requests name the relay's peer id (the stand-in checks no signature).
      if (req.method === 'GET' && path === '/v1/swarm')
        return send(200, { peerId: '12D3KooWStandInRelay', multiaddrs: [], iceServers: [] })
      const accountView = /^\/v1\/accounts\/(0x[0-9a-fA-F]{40})$/.exec(path)?.[1]
      if (req.method === 'GET' && accountView)
        return send(200, { account: accountView, balance: 3, escrowed: 0, earned: 3, pending: 0 })
      if (req.method === 'POST' && path === '/v1/settlement/epochs') {
        await chain.postRoot([...ledger])
        posted = new Map([...ledger].map(([a, v]) => [a.toLowerCase(), v]))
        closedAt = Date.now()
        return send(200, summary())
      }
      if (req.method === 'POST' && path === '/v1/settlement/claims') {
        const { accounts } = JSON.parse(body) as { accounts: Hex[] }
        const claims = await Promise.all(accounts.map((a) => chain.creditsOf(a)))
        const txHash = await chain.walletOf(chain.owner).writeContract({
          address: chain.distributor,
          abi: cumulativeMerkleDistributorAbi,
          functionName: 'claimMany',
          args: [
            claims.map((c) => ({
              account: c.address,
              cumulativeAmount: c.claim!.cumulativeAmount,
              proof: c.claim!.proof,
            })),
            chain.root(),
          ],
          chain: chain.chain,
          account: chain.owner,
        })
        return send(200, { txHash, accounts })
      }
      send(404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${path}` } })
    } catch (err) {
      send(500, { error: { code: 'INTERNAL', message: (err as Error).message } })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    ledger,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
