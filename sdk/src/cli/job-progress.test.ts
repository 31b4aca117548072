import type { JobView } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { createJobProgress } from './job-progress.ts'

/** A stream that records what is written, a terminal or not. */
function recorder(isTTY: boolean) {
  const writes: string[] = []
  const stream = { isTTY, write: (chunk: string) => writes.push(chunk) > 0 }
  return { writes, stream: stream as unknown as NodeJS.WriteStream }
}

const running = (accepted: number, reason?: 'no-contributors' | 'second-opinion'): JobView =>
  ({
    id: 'j1',
    status: 'running',
    tasks: { accepted, total: 4, leased: 0, rejectedResults: 0 },
    ...(reason
      ? {
          waiting: {
            reason,
            tasks: 4 - accepted,
            contributorsOnline: reason === 'no-contributors' ? 0 : 1,
            message:
              reason === 'no-contributors'
                ? 'no contributors online'
                : `${4 - accepted} tasks await a second opinion from another contributor; 1 contributor online`,
          },
        }
      : {}),
  }) as unknown as JobView

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('job progress', () => {
  it('off a terminal: a line at once, at each change of what it waits for, and on a timer', async () => {
    const { writes, stream } = recorder(false)
    const progress = createJobProgress(stream, 'tiles verified', { intervalMs: 60 })
    progress.update(running(0, 'no-contributors'))
    expect(writes).toEqual(['job j1: 0/4 tiles verified; no contributors online\n'])
    // The same reason: no line until the timer.
    progress.update(running(1, 'no-contributors'))
    expect(writes).toHaveLength(1)
    progress.update(running(1, 'second-opinion'))
    expect(writes.at(-1)).toBe(
      'job j1: 1/4 tiles verified; 3 tasks await a second opinion from another contributor; 1 contributor online\n',
    )
    await sleep(150)
    expect(writes.length).toBeGreaterThanOrEqual(4)
    progress.done()
    const after = writes.length
    await sleep(150)
    expect(writes).toHaveLength(after)
  })

  it('on a terminal: the bar, its note what the job waits for; no plain lines', () => {
    const { writes, stream } = recorder(true)
    const progress = createJobProgress(stream, 'tiles verified', { intervalMs: 10 })
    progress.update(running(2, 'second-opinion'))
    progress.done()
    // Carriage return and erase-line first, then the bar and its note.
    expect(writes[0]!.startsWith('\r\u001b[2K')).toBe(true)
    expect(writes[0]).toMatch(/tiles verified \[#+\.+\] 2\/4 {2}2 tasks await a second opinion/)
    expect(writes.at(-1)).toBe('\n')
  })

  it('quiet (--json): nothing at all', async () => {
    for (const isTTY of [true, false]) {
      const { writes, stream } = recorder(isTTY)
      const progress = createJobProgress(stream, 'tasks', { quiet: true, intervalMs: 10 })
      progress.update(running(0, 'no-contributors'))
      await sleep(30)
      progress.done()
      expect(writes).toEqual([])
    }
  })
})
