import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { AccountNameSchema, addApiKey } from '@tabswarm/relay'
import { ExitCode } from '../exit-codes.ts'
import { UsageError } from '../usage-error.ts'

export const apiKeyHelp = `Usage: tabswarm api-key <account> [options]

Creates a researcher API key for <account> on this relay's data directory and prints it:
the only time it is shown, since the relay keeps only its sha-256 (in
<data dir>/api-keys.json). A relay with at least one key requires one on every request;
restart a running relay for it to read a new key.

Options:
  --data-dir <dir>    the relay's durable state (env TABSWARM_DATA_DIR, default ./data)
  --json              print { account, key } as JSON
  -h, --help          show this help`

/** `tabswarm api-key <account>`: issues a key for a researcher account; resolves with the exit code. */
export async function apiKeyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
  })
  if (positionals.length !== 1)
    throw new UsageError('api-key takes one account name: tabswarm api-key alice')
  const account = positionals[0]!
  // The rule the relay applies when it reads the file back.
  const parsed = AccountNameSchema.safeParse(account)
  if (!parsed.success)
    throw new UsageError(
      `not an account name: "${account}" (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    )
  const dataDir = values['data-dir'] ?? process.env.TABSWARM_DATA_DIR ?? 'data'
  await mkdir(dataDir, { recursive: true })
  const key = await addApiKey(dataDir, account)
  if (values.json) process.stdout.write(`${JSON.stringify({ account, key })}\n`)
  else {
    process.stdout.write(`${key}\n`)
    process.stderr.write(
      `API key for ${account} added to ${dataDir}; give it to the researcher (TABSWARM_API_KEY or --api-key)\n`,
    )
  }
  return ExitCode.OK
}
