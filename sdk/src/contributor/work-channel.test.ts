import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { RelayRefusalError, WORK_PROTOCOL } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { workChannelOver } from './work-channel.ts'

const RELAY_PEER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const relay = multiaddr(`/ip4/127.0.0.1/tcp/8788/ws/p2p/${RELAY_PEER}`)

/**
 * A libp2p node stand-in whose dials fail in turn with `failures` (by name, as libp2p's
 * errors are matched), connected to a relay that announced `protocols` over identify.
 */
function fakeNode(failures: string[], protocols: string[] = []) {
  const remotePeer = { toString: () => RELAY_PEER }
  return {
    peerId: { toString: () => 'worker-peer' },
    getConnections: () => [{ remotePeer }],
    peerStore: { get: async () => ({ protocols }) },
    dialProtocol: async () => {
      const name = failures.shift() ?? 'UnsupportedProtocolError'
      const err = new Error(
        name === 'UnsupportedProtocolError'
          ? `Protocol selection failed - could not negotiate ${WORK_PROTOCOL}`
          : 'connect ECONNREFUSED 127.0.0.1:8788',
      )
      err.name = name
      throw err
    },
  } as unknown as Libp2p
}

async function refusal(channel: ReturnType<typeof workChannelOver>) {
  const err = await channel
    .exchange({ type: 'lease-request' }, undefined, AbortSignal.timeout(1_000))
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  expect(err).toBeInstanceOf(RelayRefusalError)
  return err as RelayRefusalError
}

describe('a relay that does not negotiate our work protocol', () => {
  it('is a permanent refusal naming both versions when it announces an older one', async () => {
    const err = await refusal(workChannelOver(fakeNode([], ['/tabswarm/work/1.0.0']), relay))
    expect(err).toMatchObject({ code: 'WORK_PROTOCOL_UNSUPPORTED', permanent: true })
    expect(err.shortMessage).toContain(
      `the relay speaks work protocol /tabswarm/work/1.0.0; this contributor speaks ${WORK_PROTOCOL}: the relay is older than this contributor`,
    )
  })

  it('tells the contributor to update @tabswarm/sdk when the relay speaks a newer one', async () => {
    const node = fakeNode([], ['/ipfs/id/1.0.0', '/tabswarm/work/9.0.0'])
    const err = await refusal(workChannelOver(node, relay))
    expect(err.permanent).toBe(true)
    expect(err.shortMessage).toMatch(
      /speaks work protocol \/tabswarm\/work\/9\.0\.0; .*update @tabswarm\/sdk to a release that speaks \/tabswarm\/work\/9\.0\.0 \(in a tab, reload the page\)/,
    )
  })

  it('with no version known, stops only after three refusals in a row, and says it could not learn one', async () => {
    const channel = workChannelOver(fakeNode([]), relay)
    expect((await refusal(channel)).permanent).toBe(false)
    expect((await refusal(channel)).permanent).toBe(false)
    const third = await refusal(channel)
    expect(third.permanent).toBe(true)
    expect(third.shortMessage).toMatch(
      /does not speak work protocol \/tabswarm\/work\/\d+\.\d+\.\d+ \(refused 3 times in a row\) and does not say which version it speaks/,
    )
  })

  it('keeps asking a relay that is restarting: it still announces ours, or a refused connection comes between', async () => {
    // Stopping: the work protocol is unhandled a moment before connections close.
    const stopping = workChannelOver(fakeNode([], [WORK_PROTOCOL]), relay)
    for (let i = 0; i < 5; i++) expect((await refusal(stopping)).permanent).toBe(false)
    // Refused, then down (connection refused), then refused again: the count starts over.
    const restarting = workChannelOver(
      fakeNode([
        'UnsupportedProtocolError',
        'UnsupportedProtocolError',
        'Error',
        'UnsupportedProtocolError',
        'UnsupportedProtocolError',
      ]),
      relay,
    )
    expect((await refusal(restarting)).permanent).toBe(false)
    expect((await refusal(restarting)).permanent).toBe(false)
    await expect(
      restarting.exchange({ type: 'lease-request' }, undefined, AbortSignal.timeout(1_000)),
    ).rejects.toThrow(/ECONNREFUSED/)
    expect((await refusal(restarting)).permanent).toBe(false)
    expect((await refusal(restarting)).permanent).toBe(false)
  })
})
