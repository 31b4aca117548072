import { describe, expect, it } from 'vitest'
import { describeEvent } from './worker.ts'

describe('tabswarm worker output', () => {
  it('names the job a task is part of, with a researcher’s control characters escaped', () => {
    const line = describeEvent(
      {
        type: 'task-started',
        taskId: 't1',
        jobId: 'j1',
        flops: 2e6,
        job: { name: 'fold\u001b[2J\u009b', kernel: 'matmul', tasksAccepted: 3, tasksTotal: 9 },
      },
      60,
    )
    expect(line).toBe('task t1 (job j1 "fold\\u001b[2J\\u009b", matmul, 3/9 tasks done, 2.0 MFLOP)')
    expect(describeEvent({ type: 'task-started', taskId: 't1', jobId: 'j1', flops: 0 }, 60)).toBe(
      'task t1 (job j1)',
    )
  })

  it('says when a pending result is decided', () => {
    expect(describeEvent({ type: 'task-verdict', taskId: 't1', outcome: 'rejected' }, 60)).toBe(
      'task t1, pending before, now rejected',
    )
  })
})
