import { multiaddr } from '@multiformats/multiaddr'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { spawnKernelWorker } from '../kernels/spawn-kernel-worker.ts'
import { createTabNode } from '../swarm/create-tab-node.ts'
import { createStatusPanel } from './status-panel.ts'

const panel = createStatusPanel(document)
const toggle = document.querySelector<HTMLButtonElement>('#toggle')!
let running: AbortController | undefined

/** Budget for getting a GPU device in the worker; a wedged driver must not hang the page. */
const GPU_INIT_TIMEOUT_MS = 30_000
/** Budget for asking the relay where its libp2p listeners are. */
const SWARM_LOOKUP_TIMEOUT_MS = 10_000

/** Rejects with a message naming the step when `work` outlives `ms` or `signal` aborts. */
function within<T>(work: Promise<T>, ms: number, step: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${step} took longer than ${ms / 1000} s`)), ms)
    const onAbort = () => fail(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    function fail(error: Error) {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      reject(error)
    }
    work.then(
      (value) => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => fail(error as Error),
    )
  })
}

async function lookUpSwarm(signal: AbortSignal): Promise<string[]> {
  const lookup = AbortSignal.any([signal, AbortSignal.timeout(SWARM_LOOKUP_TIMEOUT_MS)])
  const response = await fetch('./v1/swarm', { signal: lookup })
  if (!response.ok) throw new Error(`the relay answered ${response.status} for /v1/swarm`)
  const body = (await response.json()) as { multiaddrs?: unknown }
  if (!Array.isArray(body.multiaddrs) || !body.multiaddrs.every((a) => typeof a === 'string')) {
    throw new Error('the relay sent a malformed /v1/swarm answer')
  }
  return body.multiaddrs
}

async function contribute(signal: AbortSignal): Promise<void> {
  panel.state('starting', 'looking for the GPU')
  const kernels = spawnKernelWorker()
  signal.addEventListener('abort', () => kernels.terminate(), { once: true })
  const info = await within(kernels.api.init(), GPU_INIT_TIMEOUT_MS, 'starting the GPU', signal)
  panel.adapter(info)

  panel.state('starting', 'joining the swarm')
  const relayAddrs = (await lookUpSwarm(signal)).map((a) => multiaddr(a))
  const relay = relayAddrs[0]
  if (relay == null) throw new Error('the relay announced no address')
  const node = await createTabNode({ relayAddrs })
  signal.addEventListener('abort', () => void node.stop(), { once: true })
  panel.state('running', 'waiting for work')

  const summary = await runContributor({
    node,
    relay,
    signal,
    capabilities: {
      adapter: {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
      },
      features: info.features,
      limits: { ...info.limits },
      kernels: ['matmul'],
      agent: navigator.userAgent.slice(0, 200),
    },
    // Aborting terminates the worker (above), which settles any call in flight.
    executor: { matmul: (req, { timeoutMs }) => kernels.api.matmul(req, { timeoutMs }) },
    onEvent: (event: ContributorEvent) => panel.event(event),
  })
  panel.state('stopped', `stopped after ${summary.tasks} tasks`)
}

function start(): void {
  running = new AbortController()
  toggle.textContent = 'Stop'
  contribute(running.signal).catch((err: unknown) => {
    if (running?.signal.aborted) return
    panel.state('error', (err as Error).message)
    toggle.textContent = 'Start contributing'
    running = undefined
  })
}

toggle.addEventListener('click', () => {
  if (running == null) return start()
  running.abort()
  running = undefined
  toggle.textContent = 'Start contributing'
  panel.state('stopped', 'stopped')
})

// `?autostart` lets a kiosk, a test or an embedding site start without the click.
if (new URLSearchParams(location.search).has('autostart')) start()
