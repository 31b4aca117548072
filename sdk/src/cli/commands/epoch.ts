import { parseArgs } from 'node:util'
import { formatAmount } from '../../settlement/format-amount.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { plural } from '../plural.ts'
import { UsageError } from '../usage-error.ts'

export const epochHelp = `Usage: tabswarm epoch [options]

Closes a settlement epoch now (operators): the relay takes every wallet's cumulative
payouts from its ledger, builds the Merkle tree, posts its root on chain and answers once
the root is stored. Closing is idempotent: with nothing new earned it answers the latest
epoch. The tree is published at GET /v1/settlement/epochs/<n> for anyone to audit.

Options:
${clientFlagsHelp}
  --json               print the epoch as JSON
  -h, --help           show this help`

/** `tabswarm epoch`: closes an epoch now and prints it; resolves with the exit code. */
export async function epochCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clientFlags, json: { type: 'boolean', default: false } },
  })
  if (positionals.length > 0)
    throw new UsageError(`epoch takes no arguments, got "${positionals.join(' ')}": tabswarm epoch`)
  const client = clientFromFlags(values)
  const epoch = await client.closeEpoch({ signal })
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ ...epoch, cumulativeTotal: epoch.cumulativeTotal.toString() })}\n`,
    )
    return ExitCode.OK
  }
  const { token } = await client.settlement({ signal })
  process.stdout.write(
    `epoch ${epoch.epoch} ${epoch.state}: root ${epoch.root}, ${plural(epoch.leaves, 'leaf', 'leaves')}, ${formatAmount(epoch.cumulativeTotal, token)} in all${epoch.txHash ? `, tx ${epoch.txHash}` : ''}\n`,
  )
  return ExitCode.OK
}
