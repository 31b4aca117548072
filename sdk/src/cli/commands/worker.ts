import { parseArgs } from 'node:util'
import type { ContributorEvent } from '../../contributor/index.ts'
import { runHeadlessWorker } from '../../worker/headless-worker.ts'
import { loadWorkerWallet } from '../../worker/worker-wallet.ts'
import { ExitCode } from '../exit-codes.ts'
import { defaultRelayUrl } from '../relay-url.ts'
import { UsageError } from '../usage-error.ts'

export const workerHelp = `Usage: tabswarm worker [options]

Contributes this machine's GPU without a browser: the same kernels the tabs run, on dawn
(WebGPU for Node), joined over libp2p and verified like any tab.

Ctrl-C stops taking work, finishes the task in flight (at most --drain seconds) and exits
with a summary; a second Ctrl-C exits at once, leaving the task to its lease.

Options:
  --relay <url|multiaddr>  relay HTTP URL or libp2p multiaddr (env TABSWARM_RELAY,
                           default http://127.0.0.1:8787)
  --wallet-file <path>     the key of the wallet credited for verified work, created on
                           first run (default ~/.config/tabswarm/worker-wallet.key;
                           env TABSWARM_WALLET_KEY=0x... instead of a file)
  --max-tasks <n>          exit after n tasks
  --drain <sec>            how long Ctrl-C waits for the task in flight (default 60)
  --json                   one JSON object per event on stdout, then the summary
  -h, --help               show this help`

function positiveInt(flag: string, text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} must be a positive integer, got "${text}"`)
  return value
}

function describe(event: ContributorEvent): string | undefined {
  switch (event.type) {
    case 'connected':
      return `connected to ${event.relay}`
    case 'task-started':
      return `task ${event.taskId} (job ${event.jobId}, ${(event.flops / 1e6).toFixed(1)} MFLOP)`
    case 'task-finished':
      return `task ${event.taskId} ${event.outcome} in ${event.elapsedMs.toFixed(0)} ms${event.reason ? `: ${event.reason}` : ''}`
    case 'task-failed':
      return `task ${event.taskId} failed: ${event.error}`
    case 'relay-error':
      return `relay: ${event.error}; retrying in ${(event.retryInMs / 1000).toFixed(1)} s`
    case 'idle':
      return undefined
  }
}

export async function workerCommand(args: string[], interrupt: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      relay: { type: 'string' },
      'max-tasks': { type: 'string' },
      'wallet-file': { type: 'string' },
      drain: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const maxTasks = values['max-tasks'] ? positiveInt('--max-tasks', values['max-tasks']) : undefined
  const drainMs = 1000 * (values.drain ? positiveInt('--drain', values.drain) : 60)

  // Ctrl-C drains: the loop is stopped right after the task in flight is reported (its
  // result is then already with the relay), or at once when nothing is in flight.
  const stop = new AbortController()
  let busy = false
  let draining = false
  interrupt.addEventListener(
    'abort',
    () => {
      draining = true
      if (!busy) return stop.abort()
      process.stderr.write('tabswarm: finishing the task in flight; Ctrl-C again to quit now\n')
      setTimeout(() => stop.abort(), drainMs).unref()
    },
    { once: true },
  )
  // Said once the relay answers, so that a bad address or a relay that is down gets its
  // one-line error alone.
  let walletAnnounced = false
  const onEvent = (event: ContributorEvent) => {
    if (event.type === 'connected' && !walletAnnounced && !values.json) {
      walletAnnounced = true
      process.stderr.write(`crediting wallet ${wallet.account.address} (key: ${wallet.source})\n`)
    }
    if (event.type === 'task-started') busy = true
    if (event.type === 'task-finished' || event.type === 'task-failed') {
      busy = false
      if (draining) stop.abort()
    }
    if (values.json) process.stdout.write(`${JSON.stringify(event)}\n`)
    else {
      const line = describe(event)
      if (line) process.stderr.write(`${line}\n`)
    }
  }

  const wallet = await loadWorkerWallet(
    values['wallet-file'] ? { keyFile: values['wallet-file'] } : {},
  )
  if (values.json)
    process.stdout.write(`${JSON.stringify({ type: 'wallet', address: wallet.account.address })}\n`)

  const summary = await runHeadlessWorker({
    relay: values.relay ?? defaultRelayUrl(),
    signal: stop.signal,
    wallet: wallet.account,
    onEvent,
    ...(maxTasks != null ? { maxTasks } : {}),
  })
  if (values.json) process.stdout.write(`${JSON.stringify({ type: 'summary', ...summary })}\n`)
  else
    process.stdout.write(
      `worker ${summary.peerId} on ${summary.adapter}: ${summary.tasks} tasks, ${summary.accepted} accepted, ${summary.rejected} rejected\n`,
    )
  return ExitCode.OK
}
