import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { createFakeSettlementChain } from './testing/fake-settlement-chain.ts'

const CHILD = fileURLToPath(new URL('./testing/close-epoch-process.ts', import.meta.url))
const ALICE = '0x1000000000000000000000000000000000000001'
const BOB = '0x2000000000000000000000000000000000000002'

/** Runs one close in a child process; resolves with how it ended and what it printed. */
function closeInProcess(
  db: string,
  chainFile: string,
  earned: Array<[string, string]>,
  killAt?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const args = [
    CHILD,
    db,
    chainFile,
    JSON.stringify(earned),
    ...(killAt ? ['--kill-at', killAt] : []),
  ]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the close did not end in 30 s:\n${stderr}`))
    }, 30_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Each step of a close where a SIGKILL can land, as the chain call it comes before or after. */
const KILL_POINTS = [
  'ensureFunded:before', // epoch stored as built, nothing on chain
  'signPostRoot:after', // signed, not yet stored
  'send:before', // stored as sent, not broadcast
  'send:after', // broadcast and mined, not confirmed in the store
  'outcome:after', // receipt seen, not confirmed in the store
  'state:after:2', // the chain read that confirms, not yet written
]

describe('epoch closer under SIGKILL', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-sigkill-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it.each(KILL_POINTS)(
    'killed at %s, a new process on the same files posts each epoch exactly once and loses nothing',
    async (killAt) => {
      const db = join(dir, 'coordinator.db')
      const chainFile = join(dir, 'chain.json')
      const earned: Array<[string, string]> = [
        [ALICE, '30'],
        [BOB, '12'],
      ]
      // Epoch 1 in peace, so the kill hits epoch 2 (`state` is read once at the start too).
      const first = await closeInProcess(db, chainFile, earned)
      expect(first, first.stderr).toMatchObject({ code: 0 })

      earned[0] = [ALICE, '31']
      const killed = await closeInProcess(db, chainFile, earned, killAt)
      expect(killed.signal, killed.stderr).toBe('SIGKILL')

      const restarted = await closeInProcess(db, chainFile, earned)
      expect(restarted, restarted.stderr).toMatchObject({ code: 0 })
      const after = await closeInProcess(db, chainFile, earned)
      expect(JSON.parse(after.stdout)).toEqual({ closed: false, epoch: null })

      const chain = createFakeSettlementChain({ file: chainFile })
      const store = createSqliteStore({ path: db })
      try {
        expect(chain.posts.map((p) => p.epoch)).toEqual([1, 2])
        expect(store.getEpoch(2)).toMatchObject({
          state: 'confirmed',
          root: chain.posts[1]?.root,
          cumulativeTotal: 43n,
        })
        expect(store.getEpoch(3)).toBeUndefined()
        const state = await chain.state(AbortSignal.timeout(1_000))
        expect(state).toMatchObject({ epoch: 2, cumulativeTotal: 43n })
      } finally {
        store.close()
      }
    },
    60_000,
  )
})
