import { parseArgs } from 'node:util'
import { DRAIN_TIMEOUT_MS } from '../../constants.ts'
import type { ContributorEvent } from '../../contributor/index.ts'
import { bindWallet } from '../../contributor/wallet-binding.ts'
import { type HeadlessWorkerSummary, runHeadlessWorker } from '../../worker/headless-worker.ts'
import { resolveRelays } from '../../worker/resolve-relay.ts'
import {
  loadWorkerPeerKey,
  peerKeyPathFor,
  type WorkerPeerKey,
} from '../../worker/worker-peer-key.ts'
import { defaultWalletKeyPath, loadWorkerWallet } from '../../worker/worker-wallet.ts'
import { ExitCode } from '../exit-codes.ts'
import { positiveInteger } from '../flags.ts'
import { plural } from '../plural.ts'
import { defaultRelayUrl } from '../relay-url.ts'

export const workerHelp = `Usage: tabswarm worker [options]

Contributes this machine's GPU without a browser: the same kernels the tabs run, on dawn
(WebGPU for Node), joined over libp2p and verified like any tab.

Ctrl-C stops taking work, finishes and reports the task in flight (at most --drain
seconds) and exits with a summary. A second Ctrl-C, or a drain that runs out, stops the
task and hands it back to the relay, which gives it to another contributor at once.
The wallet key file is created only once the relay has answered. A relay that refuses
the worker for good ends it with exit code 4 and the reason: a ban, a hello it cannot
read, or a work protocol version it does not speak (update @tabswarm/sdk to the relay's
release). Other relay errors (a relay restarting, a lost connection) are retried with
backoff. A result the relay refuses as malformed is reported as a task error, and the
worker takes the next task.

Options:
  --relay <url|multiaddr>  relay HTTP URL or libp2p multiaddr (env TABSWARM_RELAY,
                           default http://127.0.0.1:8787); repeat it, or separate
                           them with commas, for the relays of one cluster: the
                           worker moves to the next when its relay goes away (a
                           URL also adds the relays its cluster lists)
  --wallet-file <path>     the key of the wallet credited for verified work, created
                           once the relay answers (default
                           $XDG_CONFIG_HOME/tabswarm/worker-wallet.key, else
                           ~/.config/tabswarm/worker-wallet.key;
                           env TABSWARM_WALLET_KEY=0x... instead of a file)
  --peer-key-file <path>   the worker's libp2p key, so the relay sees the same peer id
                           every run; created once the relay answers (default: beside
                           the wallet key file, named after it: worker-wallet.peer-key;
                           with TABSWARM_WALLET_KEY and no file, a new peer id each run)
  --max-tasks <n>          exit after n tasks (failed kernel runs count)
  --drain <sec>            how long Ctrl-C waits for the task in flight (default
                           ${DRAIN_TIMEOUT_MS / 1000}) before handing it back
  --json                   one JSON object per event on stdout, then the summary
  -h, --help               show this help`

/**
 * A researcher's label with its control characters (C0, DEL, C1) escaped: a job's name
 * must not write escape sequences into the contributor's terminal.
 */
const printable = (text: string) =>
  text.replace(/\p{Cc}/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** `--relay a --relay b,c`: every relay named, in order. */
export function relayList(flags: readonly string[]): string[] {
  return flags
    .flatMap((flag) => flag.split(','))
    .map((relay) => relay.trim())
    .filter(Boolean)
}

/** One event as the worker prints it; undefined for those it does not print. */
export function describeEvent(event: ContributorEvent, drainSeconds: number): string | undefined {
  switch (event.type) {
    case 'connected':
      return `connected to ${event.relay}`
    case 'task-started': {
      const job = event.job
      const progress =
        job != null
          ? `${job.name != null ? ` "${printable(job.name)}"` : ''}, ${job.kernel}, ${job.tasksAccepted}/${plural(job.tasksTotal, 'task')} done`
          : ''
      return `task ${event.taskId} (job ${event.jobId}${progress}${event.flops > 0 ? `, ${(event.flops / 1e6).toFixed(1)} MFLOP` : ''})`
    }
    case 'task-finished':
      return `task ${event.taskId} ${event.outcome} in ${event.elapsedMs.toFixed(0)} ms${event.reason ? `: ${event.reason}` : ''}`
    case 'task-verdict':
      return `task ${event.taskId}, pending before, now ${event.outcome}`
    case 'task-failed':
      return `task ${event.taskId} failed: ${event.error}`
    case 'result-refused':
      return `task ${event.taskId}: the relay refused its result (${event.code}), reported as a task error; taking the next task: ${event.reason}`
    case 'task-released':
      return `task ${event.taskId} handed back to the relay (${event.reason === 'drain-timeout' ? 'drain timed out' : 'stopped'})`
    case 'draining':
      return event.taskId
        ? `finishing task ${event.taskId} (at most ${drainSeconds} s); Ctrl-C again to hand it back and quit now`
        : 'stopping'
    case 'relay-failover':
      return `relay ${event.from} keeps missing; moving to ${event.to}`
    case 'relay-error':
      return `relay: ${event.error}; retrying in ${(event.retryInMs / 1000).toFixed(1)} s`
    case 'refused':
      return `refused by the relay (${event.code}): ${event.reason}; stopping`
    case 'idle':
      return undefined
  }
}

/** `tabswarm worker`: the headless contributor; drains on the first interrupt, hands its task back on a second. */
export async function workerCommand(args: string[], interrupt: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      relay: { type: 'string', multiple: true },
      'max-tasks': { type: 'string' },
      'wallet-file': { type: 'string' },
      'peer-key-file': { type: 'string' },
      drain: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const maxTasks =
    values['max-tasks'] != null ? positiveInteger('--max-tasks', values['max-tasks']) : undefined
  const drainSeconds =
    values.drain != null ? positiveInteger('--drain', values.drain) : DRAIN_TIMEOUT_MS / 1000

  // Read (not created) before anything else: a corrupt file is an error that names it.
  const peerKey = await workerPeerKey(values)

  // The relay first: a bad address or a relay that is down gets its one-line error, and
  // leaves no wallet key file behind.
  const relays = await resolveRelays(relayList(values.relay ?? [defaultRelayUrl()]), {
    signal: interrupt,
  })

  // The first Ctrl-C drains (the task in flight is finished and reported); a second one
  // stops at once, handing the task back to the relay so another worker takes it now.
  const stop = new AbortController()
  const drain = new AbortController()
  const onSecondInterrupt = () => stop.abort(new Error('interrupted twice'))
  const onInterrupt = () => {
    // Listening before draining: the drain announces itself, and a second Ctrl-C may follow
    // at once.
    process.once('SIGINT', onSecondInterrupt)
    process.once('SIGTERM', onSecondInterrupt)
    drain.abort()
  }
  if (interrupt.aborted) onInterrupt()
  else interrupt.addEventListener('abort', onInterrupt, { once: true })

  const print = (line: string) => process.stderr.write(`${line}\n`)
  const onEvent = (event: ContributorEvent) => {
    if (values.json) process.stdout.write(`${JSON.stringify(event)}\n`)
    else {
      const line = describeEvent(event, drainSeconds)
      if (line) print(line)
    }
  }
  const wallet = async () => {
    const { account, source } = await loadWorkerWallet(
      values['wallet-file'] ? { keyFile: values['wallet-file'] } : {},
    )
    if (values.json)
      process.stdout.write(`${JSON.stringify({ type: 'wallet', address: account.address })}\n`)
    else print(`crediting wallet ${account.address} (key: ${source})`)
    return bindWallet(account)
  }

  let summary: HeadlessWorkerSummary
  try {
    summary = await runHeadlessWorker({
      relay: relays,
      signal: stop.signal,
      drain: drain.signal,
      drainTimeoutMs: drainSeconds * 1000,
      wallet,
      onEvent,
      maxTasks,
      peerKey,
      onStart: ({ adapter, peerId, relay }) => {
        if (values.json)
          process.stdout.write(
            `${JSON.stringify({ type: 'started', adapter, peerId, relay, ...(peerKey ? { peerKeyFile: peerKey.path } : {}) })}\n`,
          )
        else
          print(
            `worker ${peerId} on ${adapter}${peerKey ? ` (peer key: ${peerKey.path})` : ' (a new peer id this run)'}`,
          )
      },
    })
  } finally {
    interrupt.removeEventListener('abort', onInterrupt)
    process.off('SIGINT', onSecondInterrupt)
    process.off('SIGTERM', onSecondInterrupt)
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ type: 'summary', ...summary })}\n`)
  else
    process.stdout.write(
      `worker ${summary.peerId} on ${summary.adapter}: ${plural(summary.tasks, 'task')}, ${summary.accepted} accepted, ${summary.rejected} rejected, ${summary.failed} failed, ${summary.released} handed back\n`,
    )
  return ExitCode.OK
}

/**
 * The worker's peer key: `--peer-key-file`, else beside the wallet key file it uses, named
 * after it; none (a new peer id each run) for a wallet from TABSWARM_WALLET_KEY alone, a
 * set-up that keeps no files.
 */
function workerPeerKey(values: {
  'peer-key-file'?: string | undefined
  'wallet-file'?: string | undefined
}): Promise<WorkerPeerKey | undefined> {
  const path =
    values['peer-key-file'] ??
    (values['wallet-file']
      ? peerKeyPathFor(values['wallet-file'])
      : process.env.TABSWARM_WALLET_KEY
        ? undefined
        : peerKeyPathFor(defaultWalletKeyPath()))
  return path == null ? Promise.resolve(undefined) : loadWorkerPeerKey(path)
}
