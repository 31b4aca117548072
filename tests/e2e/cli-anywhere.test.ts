import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runNode } from '../support/run-cli.ts'
import { CLI } from '../support/tabswarm-process.ts'

/** The system's `node` when it is older than the CLI needs (22.18), else undefined. */
function olderSystemNode(): string | undefined {
  for (const node of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const version = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' })
      const [major, minor] = version.trim().split('.').map(Number) as [number, number]
      if (major < 22 || (major === 22 && minor < 18)) return node
    } catch {
      // Not there.
    }
  }
  return undefined
}

/**
 * `tabswarm` from outside the clone, through a link on PATH as the README suggests
 * (`ln -s "$PWD/sdk/bin/tabswarm.js" ~/.local/bin/tabswarm`): from another directory, and
 * under a system Node older than the CLI needs, which hands the command to the clone's
 * Node 24 (run only where such a Node is installed).
 */
describe('tabswarm runs from anywhere', () => {
  let dir: string
  let link: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-anywhere-'))
    await mkdir(join(dir, 'bin'))
    link = join(dir, 'bin', 'tabswarm')
    await symlink(CLI, link)
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('through a link, from another directory: its output and exit codes', async () => {
    const help = await runNode(link, ['--help'], { cwd: dir })
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^Usage: tabswarm <command>/)
    const bad = await runNode(link, ['job', 'a/b'], { cwd: dir })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^tabswarm: error: not a job id/)
  })

  const older = olderSystemNode()
  it.runIf(older != null)(
    'under an older system Node: handed to the clone’s Node 24, exit codes kept',
    () => {
      const run = (args: string[]) => {
        try {
          return {
            code: 0,
            stdout: execFileSync(older!, [link, ...args], {
              cwd: dir,
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'pipe'],
            }),
          }
        } catch (err) {
          const e = err as { status: number; stderr: string }
          return { code: e.status, stdout: '', stderr: e.stderr }
        }
      }
      expect(run(['--help']).stdout).toMatch(/^Usage: tabswarm <command>/)
      const bad = run(['credits', '0xabc'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/not a wallet address or account name/)
    },
  )
})
