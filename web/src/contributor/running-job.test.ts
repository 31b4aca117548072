import type { ContributorEvent } from '@tabswarm/sdk/contributor'
import { describe, expect, it } from 'vitest'
import { describeRunningJob } from './running-job.ts'

type TaskStarted = Extract<ContributorEvent, { type: 'task-started' }>

const started = (job?: TaskStarted['job']): TaskStarted => ({
  type: 'task-started',
  taskId: 't',
  jobId: '3f9a1c2e-77aa-4bd0-9d3e-000000000000',
  flops: 0,
  ...(job ? { job } : {}),
})

describe('the running job in words', () => {
  it('names the job, its kernel and its progress when the relay tells', () => {
    expect(
      describeRunningJob(
        started({ name: 'protein fold', kernel: 'custom', tasksAccepted: 12, tasksTotal: 40 }),
      ),
    ).toEqual({
      name: 'protein fold',
      kernel: 'a researcher’s kernel',
      progress: '12 of 40 tasks done',
      fraction: 0.3,
    })
  })

  it('shortens the id of an unnamed job, and says matrix multiply', () => {
    expect(
      describeRunningJob(started({ kernel: 'matmul', tasksAccepted: 0, tasksTotal: 0 })),
    ).toEqual({ name: 'job 3f9a1c2e', kernel: 'matrix multiply' })
  })

  it('falls back to the id when the relay sends no job facts', () => {
    expect(describeRunningJob(started())).toMatchObject({ name: 'job 3f9a1c2e' })
  })
})
