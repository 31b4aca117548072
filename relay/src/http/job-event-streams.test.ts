import { describe, expect, it } from 'vitest'
import { silentLogger } from '../log.ts'
import { jobEventsOverWebSocket } from './job-event-streams.ts'
import { createFakeCoordinatorApi } from './testing/fake-coordinator-api.ts'

const spec = {
  kernel: 'custom' as const,
  program: { wgsl: 'x', inputs: [], outputs: [{ name: 'o', dtype: 'float32' as const }] },
  tasks: [0, 1, 2].map(() => ({
    inputs: [],
    outputs: [{ shape: [4], dtype: 'float32' as const }],
    workgroups: [1, 1, 1] as [number, number, number],
  })),
}

/** A socket whose client reads nothing: every message stays queued. */
function stuckSocket() {
  const sent: Array<{ event: string; id: string }> = []
  const socket = {
    sent,
    closed: undefined as { code: number; reason: string } | undefined,
    raw: { bufferedAmount: 0 },
    send(text: string) {
      sent.push(JSON.parse(text))
      socket.raw.bufferedAmount += 8 * 1024 ** 2
    },
    close(code: number, reason: string) {
      socket.closed = { code, reason }
    },
  }
  return socket
}

describe('job events over a WebSocket', () => {
  it('stops sending to a reader that does not drain, and closes with the cursor to resume from', async () => {
    const jobs = createFakeCoordinatorApi()
    const job = await jobs.submit(spec, { account: 'local' })
    for (const index of [0, 1, 2]) jobs.accept(job.id, index)
    const socket = stuckSocket()
    const events = jobEventsOverWebSocket({
      jobs,
      jobId: job.id,
      after: 0,
      heartbeatMs: 60_000,
      log: silentLogger,
      maxBufferedBytes: 4 * 1024 ** 2,
      drainTimeoutMs: 50,
    })
    events.onOpen?.(new Event('open'), socket as never)
    await expect.poll(() => socket.closed).toBeDefined()
    // One message went out; with 8 MiB still queued, the next waited, then the socket closed.
    expect(socket.sent.map((m) => m.event)).toEqual(['result'])
    expect(socket.closed).toEqual({ code: 1013, reason: 'too far behind; reconnect with ?after=1' })
    events.onClose?.(new CloseEvent('close'), socket as never)
  })
})
