import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from './main.ts'

/** The options each command parses: its help must name every one. */
const OPTIONS: Record<string, string[]> = {
  start: [
    '--host',
    '--port',
    '--p2p-port',
    '--data-dir',
    '--database',
    '--blob-dir',
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
  matmul: ['--output', '--cast', '--budget', '--timeout', '--relay', '--api-key', '--json'],
  run: ['--output-dir', '--cast', '--budget', '--timeout', '--relay', '--api-key', '--json'],
  generate: [
    '--max-tokens',
    '--temperature',
    '--top-k',
    '--top-p',
    '--seed',
    '--stages',
    '--batch',
    '--save-ref',
    '--budget',
    '--timeout',
    '--relay',
    '--api-key',
    '--json',
  ],
  jobs: ['--status', '--limit', '--relay', '--api-key', '--json'],
  job: ['--watch', '--relay', '--api-key', '--json'],
  cancel: ['--relay', '--api-key', '--json'],
  credits: ['--relay', '--api-key', '--json'],
  claim: [
    '--relay-pays',
    '--wallet-key-file',
    '--rpc-url',
    '--timeout',
    '--relay',
    '--api-key',
    '--json',
  ],
  epoch: ['--relay', '--api-key', '--json'],
  worker: ['--relay', '--wallet-file', '--peer-key-file', '--max-tasks', '--drain', '--json'],
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

describe('tabswarm claim and epoch: usage errors name the fix, before any request', () => {
  const ALICE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
  // Nothing listens here: a usage error must come before any request is tried.
  const relay = ['--relay', 'http://127.0.0.1:9']

  it.each([
    [['claim', ...relay], /claim takes one wallet address: tabswarm claim 0x/],
    [['claim', '0x1234', ...relay], /not a wallet address \(0x \+ 40 hex digits\): "0x1234"/],
    [
      ['claim', ALICE, '--relay-pays', '--wallet-key-file', 'k', ...relay],
      /choose one: --relay-pays .* or --wallet-key-file/,
    ],
    [['claim', ALICE, '--rpc-url', 'ws://x', ...relay], /--rpc-url must be an http\(s\) URL/],
    [['claim', ALICE, '--timeout', '0', ...relay], /--timeout must be a positive number/],
    [
      ['claim', ALICE, '--wallet-key-file', '/nonexistent/key', ...relay],
      /cannot read --wallet-key-file \/nonexistent\/key .*0x \+ 64 hex digits/,
    ],
    [['epoch', '3', ...relay], /epoch takes no arguments/],
  ])('%j exits 2', async (argv, message) => {
    const { code, stderr } = await run(argv)
    expect(stderr).toMatch(message)
    expect(code).toBe(2)
  })

  it('refuses a malformed TABSWARM_WALLET_KEY, naming the variable', async () => {
    process.env.TABSWARM_WALLET_KEY = '0xabc'
    try {
      const { code, stderr } = await run(['claim', ALICE, ...relay])
      expect(stderr).toMatch(/TABSWARM_WALLET_KEY must be 0x followed by 64 hex digits/)
      expect(code).toBe(2)
    } finally {
      delete process.env.TABSWARM_WALLET_KEY
    }
  })
})

describe('a relay that refuses the input', () => {
  // Answers every request as a relay refusing a malformed path parameter does (zod's path).
  let server: Server
  let relay: string[]
  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          error: { code: 'INVALID_ID', message: 'path.address: expected a wallet address' },
        }),
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    relay = ['--relay', `http://127.0.0.1:${(server.address() as AddressInfo).port}`]
  })
  afterAll(() => new Promise((resolve) => server.close(resolve)))

  it('exits 2 with a message that names the argument, not the request path', async () => {
    const { code, stderr } = await run(['credits', 'alice', ...relay])
    expect(stderr).toBe('tabswarm: error: address: expected a wallet address\n')
    expect(code).toBe(2)
  })
})
