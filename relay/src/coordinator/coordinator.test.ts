import { describe, expect, it } from 'vitest'
import { float32Output } from './in-process-inputs.ts'
import { caps, make, matrices, submitHonest } from './testing/coordinator-fixture.ts'

// What is left here crosses the concerns: the coordinator's structured log, of faults and bans
// (contributors) and of a job's end (jobs). Each concern's tests sit in its folder.

describe('coordinator: matmul jobs', () => {
  it('logs faults, bans and the end of a job as structured lines', async () => {
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = []
    const record =
      (level: string) =>
      (msg: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, msg, fields })
    const log = {
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      child: () => log,
    }
    const c = make({ tileSize: 2, log })
    const job = c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('bad', { capabilities: caps, address: '10.9.0.1' })
    for (let i = 0; i < 2; i++) {
      const grant = c.lease('bad')!
      c.submitResult('bad', grant.leaseId, [float32Output(new Float32Array(4).fill(9), [2, 2])])
    }
    c.registerContributor('good', caps)
    for (let grant = c.lease('good'); grant; grant = c.lease('good')) submitHonest(c, 'good', grant)
    await c.getJob(job.id)
    expect(lines.filter((l) => l.msg === 'fault')).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({
          peer: 'bad',
          address: '10.9.0.1',
          faults: 1,
          job: job.id,
        }),
      }),
      expect.objectContaining({ fields: expect.objectContaining({ faults: 2 }) }),
    ])
    expect(lines.filter((l) => l.msg === 'banned').map((l) => l.fields.ban)).toEqual(['peer:bad'])
    expect(lines.find((l) => l.msg === 'job completed')).toMatchObject({
      level: 'info',
      fields: { job: job.id, tasks: 4, accepted: 4, rejectedResults: 2 },
    })
  })
})
