import { describe, expect, it, vi } from 'vitest'
import { createStatusPanel, describeWeightCache } from './status-panel.ts'

/** Just enough of a Document for the panel: elements by id, a body, list items. */
function fakeDocument() {
  class FakeElement {
    textContent = ''
    hidden = false
    value = 0
    dataset: Record<string, string> = {}
    children: FakeElement[] = []
    prepend(child: FakeElement) {
      this.children.unshift(child)
    }
    get childElementCount() {
      return this.children.length
    }
    get lastElementChild() {
      const last = this.children.at(-1)
      return last && { remove: () => this.children.pop() }
    }
  }
  const elements = new Map<string, FakeElement>()
  const doc = {
    body: new FakeElement(),
    getElementById: (id: string) => {
      if (!elements.has(id)) elements.set(id, new FakeElement())
      return elements.get(id)
    },
    createElement: () => new FakeElement(),
  }
  const text = (id: string) => doc.getElementById(id)!.textContent
  const log = () =>
    doc.getElementById('log')!.children.map((c) => c.textContent.replace(/^\S+ (AM |PM )?/, ''))
  return { doc: doc as unknown as Document, text, log, el: doc.getElementById }
}

describe('the status panel', () => {
  it('says "connected to the relay" once, and "reconnected" after a loss', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    panel.state('starting', 'starting')
    panel.relay({ type: 'relay-connected', relay: '/ip4/127.0.0.1/tcp/1/ws' })
    panel.event({ type: 'connected', relay: '/ip4/127.0.0.1/tcp/1/ws' })
    panel.relay({ type: 'relay-lost', relay: '/ip4/127.0.0.1/tcp/1/ws' })
    expect(page.text('notice')).toBe('Lost the relay; reconnecting.')
    panel.relay({ type: 'relay-retry', error: undefined as unknown as string, retryInMs: 4_200 })
    expect(page.text('notice')).toBe('Lost the relay; reconnecting in 5 s.')
    panel.relay({ type: 'relay-connected', relay: '/ip4/127.0.0.1/tcp/1/ws' })
    expect(page.el('notice')!.hidden).toBe(true)
    expect(page.log().reverse()).toEqual([
      'connected to the relay',
      'lost the relay',
      'could not reach the relay (no reason given); retrying in 5 s',
      'reconnected to the relay',
    ])
  })

  it('says which relay it moves to, and when, until it is connected there', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    const a = '12D3KooWEnySHnn2nfCuVSbFcYocCTJgeBcUgzXqoYPLrtETdP7z'
    const b = '12D3KooWSU3A8bCiynxcJMBqDros9hTonviJJtCKmKYihd74Kr9w'
    panel.state('starting', 'starting')
    panel.relay({ type: 'relay-connected', relay: `/ip4/127.0.0.1/tcp/1/ws/p2p/${a}` })
    panel.relay({ type: 'relay-lost', relay: a })
    panel.relay({ type: 'relay-retry', error: '', retryInMs: 1_000 })
    panel.relay({ type: 'relay-failover', from: a, to: b, toAddress: 'swarm-b.example' })
    // The wait before the new relay's dial comes right after: it must not hide where it goes.
    panel.relay({ type: 'relay-retry', error: '', retryInMs: 1_000 })
    panel.event({ type: 'relay-error', error: '', retryInMs: 1_000 })
    expect(page.text('notice')).toBe(
      'The relay is gone; moving to relay swarm-b.example of the swarm, connecting in 1 s.',
    )
    expect(page.text('relay')).toBe('moving to swarm-b.example in 1 s')
    panel.relay({ type: 'relay-connected', relay: `/ip4/127.0.0.2/tcp/2/ws/p2p/${b}` })
    expect(page.el('notice')!.hidden).toBe(true)
    expect(page.text('relay')).toBe(`/ip4/127.0.0.2/tcp/2/ws/p2p/${b}`)
    expect(page.log()[0]).toBe("connected to relay swarm-b.example, the swarm's next relay")
    expect(page.log()).toContain(`relay ${a} keeps missing; moving to relay swarm-b.example (${b})`)

    // Without an address: the end of its peer id.
    panel.relay({ type: 'relay-lost', relay: b })
    panel.relay({ type: 'relay-failover', from: b, to: a })
    expect(page.text('notice')).toBe('The relay is gone; moving to relay …ETdP7z of the swarm.')
  })

  it('counts the wait before the next dial down, a second at a time, and stops when connected', () => {
    vi.useFakeTimers()
    try {
      const page = fakeDocument()
      const panel = createStatusPanel(page.doc)
      const a = '12D3KooWEnySHnn2nfCuVSbFcYocCTJgeBcUgzXqoYPLrtETdP7z'
      const b = '12D3KooWSU3A8bCiynxcJMBqDros9hTonviJJtCKmKYihd74Kr9w'
      panel.state('starting', 'starting')
      panel.relay({ type: 'relay-connected', relay: `/ip4/127.0.0.1/tcp/1/ws/p2p/${a}` })
      panel.relay({ type: 'relay-lost', relay: a })
      panel.relay({ type: 'relay-retry', error: '', retryInMs: 3_000 })
      expect(page.text('relay')).toBe('reconnecting in 3 s')
      vi.advanceTimersByTime(1_000)
      expect(page.text('notice')).toBe('Lost the relay; reconnecting in 2 s.')
      vi.advanceTimersByTime(2_000)
      expect(page.text('relay')).toBe('reconnecting')
      expect(page.text('notice')).toBe('Lost the relay; reconnecting.')
      // Through a failover's wait as well, naming where it goes.
      panel.relay({ type: 'relay-failover', from: a, to: b, toAddress: 'swarm-b.example' })
      panel.relay({ type: 'relay-retry', error: '', retryInMs: 12_000 })
      vi.advanceTimersByTime(5_000)
      expect(page.text('relay')).toBe('moving to swarm-b.example in 7 s')
      expect(page.text('notice')).toBe(
        'The relay is gone; moving to relay swarm-b.example of the swarm, connecting in 7 s.',
      )
      panel.relay({ type: 'relay-connected', relay: `/ip4/127.0.0.2/tcp/2/ws/p2p/${b}` })
      vi.advanceTimersByTime(10_000)
      expect(page.text('relay')).toBe(`/ip4/127.0.0.2/tcp/2/ws/p2p/${b}`)
      expect(page.el('notice')!.hidden).toBe(true)
      // Only one line per wait in the log, not one per second.
      expect(page.log().filter((line) => line.includes('retrying in'))).toHaveLength(2)
      expect(vi.getTimerCount()).toBe(0)
      // Stop ends a count in progress: nothing writes over the fields at rest.
      panel.relay({ type: 'relay-lost', relay: b })
      panel.relay({ type: 'relay-retry', error: '', retryInMs: 9_000 })
      panel.state('stopped', 'stopped')
      vi.advanceTimersByTime(10_000)
      expect(page.text('relay')).toBe('not connected')
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('says plainly that the GPU was reset, until a task finishes again', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    panel.state('starting', 'starting')
    panel.gpuReset({ reason: 'unknown', message: 'device lost' })
    expect(page.text('notice')).toMatch(/^The GPU was reset; recovering\./)
    expect(page.el('notice')!.hidden).toBe(false)
    panel.event({ type: 'task-finished', taskId: 'b', outcome: 'accepted', elapsedMs: 1 })
    expect(page.el('notice')!.hidden).toBe(true)
  })

  it('never logs "relay: undefined" for a failed work exchange', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    panel.state('starting', 'starting')
    panel.event({ type: 'relay-error', error: undefined as unknown as string, retryInMs: 1_000 })
    expect(page.log()).toEqual(['relay: no reason given; retrying in 1 s'])
  })

  it('counts verdicts into the counters', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    panel.event({ type: 'task-started', taskId: 'a', jobId: 'j', flops: 0 })
    panel.event({ type: 'task-finished', taskId: 'a', outcome: 'pending', elapsedMs: 1 })
    expect([page.text('pending'), page.text('accepted'), page.text('today')]).toEqual([
      '1',
      '0',
      '1',
    ])
    panel.event({ type: 'task-verdict', taskId: 'a', outcome: 'accepted' })
    expect([page.text('pending'), page.text('accepted')]).toEqual(['0', '1'])
  })

  it('shows the job in words, and nothing connected or running after Stop', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    panel.state('starting', 'starting')
    panel.relay({ type: 'relay-connected', relay: '/ip4/127.0.0.1/tcp/1/ws' })
    const stats = {
      peers: { direct: 2, discovered: 3 },
      blobs: { fromPeers: 0, fromRelay: 0, relayFallbacks: 0, fallbacksUnreachable: 0, served: 0 },
    } as Parameters<typeof panel.swarm>[0]
    panel.swarm(stats)
    panel.event({
      type: 'task-started',
      taskId: 't',
      jobId: 'abcdef0123',
      flops: 1,
      job: { kernel: 'matmul', tasksAccepted: 3, tasksTotal: 4 },
    })
    expect([page.text('job'), page.text('kernel'), page.text('progress')]).toEqual([
      'job abcdef01',
      'matrix multiply',
      '3 of 4 tasks done',
    ])
    expect(page.el('progress-bar')!.value).toBe(0.75)
    panel.state('stopped', 'stopped')
    // The run winds down after the click: late reports change nothing.
    panel.swarm(stats)
    panel.relay({ type: 'relay-connected', relay: '/ip4/127.0.0.1/tcp/1/ws' })
    expect([page.text('relay'), page.text('peers'), page.text('job')]).toEqual([
      'not connected',
      'none (not contributing)',
      'none yet',
    ])
  })

  it('keeps a refusal in the Relay field when the run stops on it', () => {
    const page = fakeDocument()
    const panel = createStatusPanel(page.doc)
    panel.state('starting', 'starting')
    panel.event({ type: 'refused', code: 'CONTRIBUTOR_BANNED', reason: 'banned' })
    panel.failed(new Error('CONTRIBUTOR_BANNED: banned'))
    expect(page.text('relay')).toBe('refused (CONTRIBUTOR_BANNED)')
    expect(page.text('peers')).toBe('none (not contributing)')
  })
})

describe('describeWeightCache', () => {
  const base = {
    hits: 0,
    misses: 0,
    corrupt: 0,
    bytesHit: 0,
    bytesMissed: 0,
    bytesStored: 0,
    evictions: 0,
    entries: 0,
    bytesUsed: 0,
    capacityBytes: 1024 * 1024 * 1024,
    hitRate: 0,
  }
  it('says the hit rate and how full it is', () => {
    expect(describeWeightCache(base)).toBe('no weights asked for yet, 0.0 of 1024 MiB held')
    expect(
      describeWeightCache({
        ...base,
        hits: 3,
        misses: 1,
        hitRate: 0.75,
        bytesUsed: 12 * 1024 * 1024,
        corrupt: 1,
      }),
    ).toBe('3 of 4 lookups hit (75%), 12.0 of 1024 MiB held, 1 corrupt dropped')
  })
})
