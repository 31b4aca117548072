import { parseArgs } from 'node:util'
import { accountView } from '@tabswarm/protocol'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { settlementFigures } from '../settlement-figures.ts'
import { UsageError } from '../usage-error.ts'

export const creditsHelp = `Usage: tabswarm credits <address> [options]

Shows the credits of a contributor's wallet address (0x...) or a researcher account:
earned by verified work, held in escrow for running jobs, and the balance. For a wallet,
when the relay settles on a chain, also its tokens: pending (earned, not yet in a posted
root), claimable (claim them with 'tabswarm claim') and claimed.

Options:
${clientFlagsHelp}
  --json               print the account as JSON
  -h, --help           show this help`

/** `tabswarm credits <address>`: prints an account's credits; resolves with the exit code. */
export async function creditsCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clientFlags, json: { type: 'boolean', default: false } },
  })
  if (positionals.length !== 1)
    throw new UsageError('credits takes one address: tabswarm credits 0x...')
  const address = positionals[0]!
  // The relay's rule (AccountIdSchema): checked here so the message names the argument.
  if (!/^(0x[0-9a-fA-F]{40}|(?!0x)[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/.test(address))
    throw new UsageError(
      `not a wallet address or account name: "${address.slice(0, 80)}" (an address is 0x and 40 hex digits; an account name 1 to 64 letters, digits, '.', '_' or '-', not starting with 0x)`,
    )
  const client = clientFromFlags(values)
  const [account, settlement] = await Promise.all([
    client.account(address, { signal }),
    settlementFigures(client, address, signal),
  ])
  // Exact integers: JSON gets decimal strings (it has no bigint), people the digits.
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ address, ...accountView(account), ...(settlement ? { settlement: settlement.json } : {}) })}
`,
    )
  else {
    process.stdout.write(
      `${address}: balance ${account.balance}, earned ${account.earned} (${account.pending} pending verification), in escrow ${account.escrowed}\n`,
    )
    if (settlement) process.stdout.write(`${settlement.line}\n`)
  }
  return ExitCode.OK
}
