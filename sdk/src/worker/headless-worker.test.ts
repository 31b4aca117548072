import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it, vi } from 'vitest'
import { RelayUnreachableError } from '../client/client-errors.ts'
import { runHeadlessWorker } from './headless-worker.ts'

// The dawn host must not be created for a worker that never connects: a spy stands in for it.
const createKernelHostProcess = vi.hoisted(() => vi.fn())
vi.mock('@tabswarm/worker-kernels/node', () => ({ createKernelHostProcess }))

const relays = [multiaddr('/ip4/127.0.0.1/tcp/1/ws'), multiaddr('/ip4/127.0.0.1/tcp/2/ws')]

/** A libp2p node whose dials do what `dial` says, recording the signal each one got. */
function fakeNode(dial: (signal: AbortSignal) => Promise<unknown>) {
  const signals: AbortSignal[] = []
  const node = {
    peerId: { toString: () => 'peer-test' },
    dial: (_addr: unknown, { signal }: { signal: AbortSignal }) => {
      signals.push(signal)
      return dial(signal)
    },
    stop: async () => {},
  } as unknown as Libp2p
  return { node, signals }
}

/** A dial that hangs until its signal aborts, as one to a black-holed address does. */
const hangingDial = (signal: AbortSignal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))

describe('runHeadlessWorker start-up', () => {
  it('a drain (the first Ctrl-C) stops the dialling at once', async () => {
    const { node, signals } = fakeNode(hangingDial)
    const stop = new AbortController()
    const drain = new AbortController()
    const running = runHeadlessWorker({
      relay: relays,
      node,
      signal: stop.signal,
      drain: drain.signal,
    })
    await vi.waitFor(() => expect(signals).toHaveLength(1))
    drain.abort(new Error('drained'))
    await expect(running).rejects.toThrow('drained')
    // The first dial was aborted and no other address was tried.
    expect(signals).toHaveLength(1)
    expect(signals[0]!.aborted).toBe(true)
    expect(createKernelHostProcess).not.toHaveBeenCalled()
  })

  it('a relay that answers on no address fails before the GPU is set up', async () => {
    const { node, signals } = fakeNode(() => Promise.reject(new Error('connection refused')))
    const running = runHeadlessWorker({ relay: relays, node, signal: new AbortController().signal })
    await expect(running).rejects.toBeInstanceOf(RelayUnreachableError)
    expect(signals).toHaveLength(2)
    expect(createKernelHostProcess).not.toHaveBeenCalled()
  })
})
