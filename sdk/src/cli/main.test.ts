import { afterEach, describe, expect, it, vi } from 'vitest'
import { main } from './main.ts'

/** The options each command parses: its help must name every one. */
const OPTIONS: Record<string, string[]> = {
  start: [
    '--host',
    '--port',
    '--p2p-port',
    '--data-dir',
    '--listen',
    '--announce',
    '--work-read-idle-ms',
    '--max-inflight-bytes-per-peer',
    '--uploads-per-account',
    '--uploads-total',
    '--upload-timeout-ms',
    '--upload-idle-ms',
    '--site-share-bps',
    '--json',
  ],
  matmul: ['--output', '--budget', '--timeout', '--relay', '--api-key', '--json'],
  run: ['--output-dir', '--budget', '--timeout', '--relay', '--api-key', '--json'],
  jobs: ['--status', '--limit', '--relay', '--api-key', '--json'],
  job: ['--watch', '--relay', '--api-key', '--json'],
  cancel: ['--relay', '--api-key', '--json'],
  credits: ['--relay', '--api-key', '--json'],
  worker: ['--relay', '--wallet-file', '--max-tasks', '--drain', '--json'],
  'api-key': ['--data-dir', '--json'],
}

async function run(argv: string[]) {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  const code = await main(argv)
  vi.restoreAllMocks()
  return { code, stdout, stderr }
}
afterEach(() => vi.restoreAllMocks())

describe('tabswarm --help', () => {
  it('lists every command and the exit codes', async () => {
    const { code, stdout } = await run(['--help'])
    expect(code).toBe(0)
    for (const command of Object.keys(OPTIONS))
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    expect(stdout).toMatch(/Exit codes:[\s\S]*130\s+interrupted/)
  })

  it('without a command prints the help and exits 2', async () => {
    const { code, stdout } = await run([])
    expect(code).toBe(2)
    expect(stdout).toMatch(/^Usage: tabswarm <command>/)
  })

  it.each(Object.entries(OPTIONS))(
    '%s --help exits 0 and names its options',
    async (command, options) => {
      for (const flag of ['--help', '-h']) {
        const { code, stdout, stderr } = await run([command, flag])
        expect(code).toBe(0)
        expect(stderr).toBe('')
        expect(stdout).toMatch(new RegExp(`^Usage: tabswarm ${command}\\b`))
        for (const option of [...options, '--help']) expect(stdout).toContain(option)
      }
    },
  )
})
