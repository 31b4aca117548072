import { multiaddr } from '@multiformats/multiaddr'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { deserializeError } from '@tabswarm/worker-kernels'
import { spawnKernelWorker } from '../kernels/spawn-kernel-worker.ts'
import { createTabNode } from '../swarm/create-tab-node.ts'
import { createStatusPanel } from './status-panel.ts'

const panel = createStatusPanel(document)
const toggle = document.querySelector<HTMLButtonElement>('#toggle')!
let running: AbortController | undefined

async function contribute(signal: AbortSignal): Promise<void> {
  panel.state('starting', 'looking for the GPU')
  const kernels = spawnKernelWorker()
  signal.addEventListener('abort', () => kernels.terminate(), { once: true })
  const info = await kernels.api.init()
  panel.adapter(info)

  panel.state('starting', 'joining the swarm')
  const swarm = (await (await fetch('./v1/swarm', { signal })).json()) as { multiaddrs: string[] }
  const relayAddrs = swarm.multiaddrs.map((a) => multiaddr(a))
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
    executor: {
      async matmul(req, { timeoutMs }) {
        try {
          return await kernels.api.matmul(req, { timeoutMs })
        } catch (err) {
          throw deserializeError(err)
        }
      },
    },
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
