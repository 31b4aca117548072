import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { createPublicClient, createWalletClient, type Hex, http, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { CLAIM_TIMEOUT_MS } from '../../constants.ts'
import { type ClaimResult, claimOnChain } from '../../settlement/claim-on-chain.ts'
import { claimThroughRelay } from '../../settlement/claim-through-relay.ts'
import { formatAmount } from '../../settlement/format-amount.ts'
import type { Settlement } from '../../settlement/settlement-api.ts'
import { settlementChain } from '../../settlement/settlement-chain.ts'
import { NothingToClaimError } from '../../settlement/settlement-errors.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { timeoutMsFlag } from '../flags.ts'
import { UsageError } from '../usage-error.ts'

export const claimHelp = `Usage: tabswarm claim <address> [options]

Claims the tokens a wallet can claim (its "claimable" figure in 'tabswarm credits') on the
settlement chain, waits for the receipt and prints what it paid. The tokens always go to
<address>; whoever submits the claim pays its gas:

  by default the relay submits it (--relay-pays), for a wallet that holds no ETH;
  with a wallet key (--wallet-key-file, or env TABSWARM_WALLET_KEY=0x<key>) this machine
  sends it through the chain's RPC, and that wallet pays.

Options:
${clientFlagsHelp}
  --relay-pays             ask the relay to submit the claim (the default without a key)
  --wallet-key-file <path> send the claim with the wallet whose key (0x + 64 hex) is in <path>
  --rpc-url <url>          the chain's JSON-RPC URL (default: the one the relay publishes)
  --timeout <sec>          stop waiting for the receipt after this long (default ${CLAIM_TIMEOUT_MS / 1000})
  --json                   print the result as JSON
  -h, --help               show this help

Exits 1 when there is nothing to claim yet (the message says when there will be).`

const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const KEY = /^0x[0-9a-fA-F]{64}$/

/** The key of `--wallet-key-file` or `TABSWARM_WALLET_KEY`, or undefined for the relay to pay. */
async function walletKey(file: string | undefined): Promise<Hex | undefined> {
  if (file != null) {
    let key: string
    try {
      key = (await readFile(file, 'utf8')).trim()
    } catch (err) {
      throw new UsageError(
        `cannot read --wallet-key-file ${file} (${(err as NodeJS.ErrnoException).code ?? err}): give a file holding 0x + 64 hex digits`,
      )
    }
    if (!KEY.test(key))
      throw new UsageError(`${file} holds no private key: it must be 0x followed by 64 hex digits`)
    return key as Hex
  }
  const fromEnv = process.env.TABSWARM_WALLET_KEY
  if (!fromEnv) return undefined
  if (!KEY.test(fromEnv))
    throw new UsageError('TABSWARM_WALLET_KEY must be 0x followed by 64 hex digits')
  return fromEnv as Hex
}

/** `tabswarm claim <address>`: claims a wallet's tokens; resolves with the exit code. */
export async function claimCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      'relay-pays': { type: 'boolean', default: false },
      'wallet-key-file': { type: 'string' },
      'rpc-url': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 1)
    throw new UsageError('claim takes one wallet address: tabswarm claim 0x...')
  const address = positionals[0]! as Hex
  if (!ADDRESS.test(address))
    throw new UsageError(`not a wallet address (0x + 40 hex digits): "${address}"`)
  if (values['relay-pays'] && values['wallet-key-file'] != null)
    throw new UsageError(
      'choose one: --relay-pays (the relay pays the gas) or --wallet-key-file (your wallet does)',
    )
  const rpcUrl = values['rpc-url']
  if (rpcUrl != null && !/^https?:\/\//.test(rpcUrl))
    throw new UsageError(`--rpc-url must be an http(s) URL, got "${rpcUrl}"`)
  const timeoutMs = timeoutMsFlag(values.timeout, CLAIM_TIMEOUT_MS / 1000)
  const key = values['relay-pays'] ? undefined : await walletKey(values['wallet-key-file'])
  const say = (line: string) => {
    if (!values.json) process.stderr.write(`${line}\n`)
  }

  const client = clientFromFlags(values)
  const [settlement, credits] = await Promise.all([
    client.settlement({ signal }),
    client.walletCredits(address, { signal }),
  ])
  const amount = (units: bigint) => formatAmount(units, settlement.token)
  if (credits.claim == null || credits.claimable === 0n)
    throw new NothingToClaimError(
      `${address} has nothing to claim: ${amount(credits.pending)} pending, ${amount(credits.claimed)} claimed; pending credits become claimable when the next epoch closes`,
    )
  const publicClient: PublicClient | undefined =
    (rpcUrl ?? settlement.rpcUrl) != null
      ? createPublicClient({ chain: settlementChain(settlement, rpcUrl), transport: http() })
      : undefined

  let result: ClaimResult | Omit<ClaimResult, 'blockNumber' | 'gasUsed'>
  let payer: string
  if (key != null) {
    if (publicClient == null) throw new UsageError(noRpc(settlement))
    const account = privateKeyToAccount(key)
    payer = account.address
    say(`claiming ${amount(credits.claimable)} for ${address}; ${payer} pays the gas`)
    result = await claimOnChain({
      walletClient: createWalletClient({
        account,
        chain: publicClient.chain,
        transport: http(),
      }),
      publicClient,
      credits,
      distributor: settlement.distributor,
      signal,
      timeoutMs,
      onStage: (stage, { txHash }) => {
        if (stage === 'confirming') say(`sent ${txHash}; waiting for its receipt`)
      },
    })
  } else {
    payer = 'the relay'
    say(`asking the relay to claim ${amount(credits.claimable)} for ${address} (it pays the gas)`)
    result = await claimThroughRelay({
      client,
      settlement,
      credits,
      publicClient,
      signal,
      timeoutMs,
      onSent: (txHash) => say(`the relay sent ${txHash}; waiting for its receipt`),
    })
  }

  if (values.json)
    process.stdout.write(
      `${JSON.stringify({
        address,
        txHash: result.txHash,
        blockNumber: 'blockNumber' in result ? result.blockNumber.toString() : null,
        paid: result.paid.toString(),
        claimed: result.claimed.toString(),
        payer,
        token: settlement.token,
      })}\n`,
    )
  else
    process.stdout.write(
      `${address}: paid ${amount(result.paid)}${'blockNumber' in result ? ` in block ${result.blockNumber}` : ''} (tx ${result.txHash}, gas paid by ${payer}); claimed ${amount(result.claimed)} in all\n`,
    )
  return ExitCode.OK
}

function noRpc(settlement: Settlement): string {
  return `the relay publishes no RPC URL for chain ${settlement.chainId}: pass --rpc-url <url> to send the claim yourself`
}
