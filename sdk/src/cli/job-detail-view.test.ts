import type { JobDetail } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { describeJobDetail } from './job-detail-view.ts'

const detail = (status: JobDetail['job']['status']): JobDetail => ({
  job: {
    id: 'job-1',
    kernel: 'custom',
    owner: 'local',
    status,
    priority: 1,
    tasks: { total: 4, accepted: 1, leased: 1, rejectedResults: 0 },
    credits: { budget: '40', spent: '10', refunded: status === 'running' ? '0' : '30' },
    createdAt: 0,
    ...(status === 'running'
      ? {
          waiting: {
            reason: 'second-opinion',
            tasks: 1,
            contributorsOnline: 1,
            message: '1 task awaits a second opinion from a different contributor',
          },
        }
      : { finishedAt: 5_000 }),
  },
  tasks: {
    total: 4,
    queued: 1,
    leased: 1,
    awaitingSecondOpinion: 1,
    awaitingConfirmation: 0,
    accepted: 1,
  },
  verification: { freivalds: 0, recomputed: 0, agreed: 1, canary: 0, trusted: 0, rejected: 0 },
  flops: 4e6,
  timings: { createdAt: 0, elapsedMs: 5_000 },
  throughput: { tasksPerSecond: 0.2, gflopPerSecond: 0.0002 },
  history: [],
})

describe('describeJobDetail', () => {
  it('shows a running job’s tasks in every state, and what it waits for', () => {
    const text = describeJobDetail(detail('running'))
    expect(text).toMatch(
      /^tasks: +1 of 4 tasks accepted; 1 queued, 1 leased, 1 awaiting a second opinion, 0 awaiting confirmation$/m,
    )
    expect(text).toContain('1 task awaits a second opinion from a different contributor')
    expect(text).toMatch(
      /^throughput: +0\.200 tasks\/s, 0\.000200 GFLOP\/s \(0\.00400 GFLOP in all\)$/m,
    )
  })

  it('says what an ended job did not run, rather than calling it queued', () => {
    const text = describeJobDetail(detail('cancelled'))
    expect(text).toMatch(/^tasks: +1 of 4 tasks accepted; 3 not run \(the job cancelled\)$/m)
    expect(text).not.toMatch(/queued|awaiting a second opinion/)
  })
})
