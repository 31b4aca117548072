import { describe, expect, it } from 'vitest'
import { createTaskCounts } from './task-counts.ts'

const started = (taskId: string, flops = 1e9) =>
  ({ type: 'task-started', taskId, jobId: 'job-1', flops }) as const
const finished = (taskId: string, outcome: 'accepted' | 'pending' | 'rejected' | 'stale') =>
  ({ type: 'task-finished', taskId, outcome, elapsedMs: 10 }) as const
const verdict = (taskId: string, outcome: 'accepted' | 'rejected') =>
  ({ type: 'task-verdict', taskId, outcome }) as const

describe('the page task counters', () => {
  it('counts each outcome, and the compute of accepted tasks only', () => {
    const counts = createTaskCounts()
    for (const [id, outcome] of [
      ['a', 'accepted'],
      ['b', 'rejected'],
      ['c', 'stale'],
      ['d', 'pending'],
    ] as const) {
      counts.apply(started(id))
      counts.apply(finished(id, outcome))
    }
    expect(counts.get()).toEqual({ accepted: 1, pending: 1, rejected: 1, flops: 1e9 })
  })

  it('takes "awaiting agreement" down when verdicts come, into accepted or rejected', () => {
    const counts = createTaskCounts()
    for (const id of ['a', 'b', 'c']) {
      counts.apply(started(id, 2e9))
      expect(counts.apply(finished(id, 'pending'))).toBe(true)
    }
    expect(counts.get()).toMatchObject({ accepted: 0, pending: 3, rejected: 0 })
    expect(counts.apply(verdict('a', 'accepted'))).toBe(true)
    expect(counts.apply(verdict('b', 'rejected'))).toBe(true)
    expect(counts.get()).toEqual({ accepted: 1, pending: 1, rejected: 1, flops: 2e9 })
    counts.apply(verdict('c', 'accepted'))
    // The job is over: nothing is left awaiting agreement.
    expect(counts.get()).toEqual({ accepted: 2, pending: 0, rejected: 1, flops: 4e9 })
  })

  it('ignores verdicts for results it never saw pending, and a verdict given twice', () => {
    const counts = createTaskCounts()
    expect(counts.apply(verdict('from-before-reload', 'accepted'))).toBe(false)
    counts.apply(started('a'))
    counts.apply(finished('a', 'pending'))
    counts.apply(verdict('a', 'rejected'))
    expect(counts.apply(verdict('a', 'rejected'))).toBe(false)
    expect(counts.get()).toEqual({ accepted: 0, pending: 0, rejected: 1, flops: 0 })
  })

  it('counts a pending result reported twice once', () => {
    const counts = createTaskCounts()
    counts.apply(finished('a', 'pending'))
    expect(counts.apply(finished('a', 'pending'))).toBe(false)
    expect(counts.get().pending).toBe(1)
  })
})
