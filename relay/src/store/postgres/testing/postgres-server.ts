import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/**
 * A real PostgreSQL server of our own, for tests and benchmarks: `initdb` in a temporary
 * directory, started with `pg_ctl` on a free loopback port with its socket in that
 * directory, stopped and removed by `stop`. It can be stopped and started again on the same
 * port and data (`pause` / `resume`): a database that goes away under the coordinators and
 * comes back.
 *
 * `initdb` refuses to run as root: as root, the server runs as the `postgres` user (which
 * Debian's `postgresql` package creates) over a directory it owns.
 */
export interface PostgresServer {
  /** `postgres://tabswarm@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  /** A fresh, empty database on this server; its connection URL. */
  createDatabase(signal?: AbortSignal): Promise<string>
  /** Stops the server (fast shutdown: connections are cut), keeping its data. */
  pause(signal?: AbortSignal): Promise<void>
  /** Starts it again after `pause`, on the same port and data. */
  resume(signal?: AbortSignal): Promise<void>
  /** Stops the server and removes its directory. */
  stop(): Promise<void>
}

export interface PostgresServerOptions {
  /**
   * Server settings (`-c name=value`). The default turns durability off (`fsync`,
   * `synchronous_commit`, `full_page_writes`): tests test logic, not the disk. A benchmark
   * passes `{}` to measure what an operator's server does.
   */
  settings?: Record<string, string>
  /** @default 60_000 */
  timeoutMs?: number
  signal?: AbortSignal
}

const TEST_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
}

/** The directory holding `initdb` and `pg_ctl`: on PATH, else Debian's newest version. */
export function postgresBinDir(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' })
  const found = onPath.status === 0 ? onPath.stdout.trim() : ''
  if (found !== '') {
    // Debian links /usr/local/bin/pg_ctl or uses pg_wrapper: the real directory has initdb.
    const dir = found.slice(0, found.lastIndexOf('/'))
    if (existsSync(join(dir, 'initdb'))) return dir
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions[0] == null)
    throw new Error(
      'PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql): install it with `sudo apt-get install -y postgresql`, or run `bash .ci/system-deps`',
    )
  return join(root, versions[0], 'bin')
}

export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServer> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const signal = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ])
  const bin = postgresBinDir()
  const asRoot = process.getuid?.() === 0
  const runAs = asRoot ? ['runuser', '-u', 'postgres', '--'] : []
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-pg-'))
  const data = join(dir, 'data')
  if (asRoot) {
    const ids = postgresUserIds()
    await chown(dir, ids.uid, ids.gid)
  }
  await chmod(dir, 0o700)
  const port = await freeLoopbackPort()
  const settings = options.settings ?? TEST_SETTINGS
  const serverArgs = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=200',
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
  ].join(' ')

  const run = (tool: string, args: string[], runSignal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const [command, ...prefix] = [...runAs, join(bin, tool)]
      execFile(
        command as string,
        [...prefix, ...args],
        { signal: runSignal, cwd: dir, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err == null) return resolve()
          const logTail = existsSync(join(dir, 'server.log'))
            ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000)
            : ''
          reject(
            new Error(
              `${tool} ${args[0] ?? ''} failed: ${err.message}\n${stderr || stdout}\n${logTail}`,
              { cause: err },
            ),
          )
        },
      )
    })

  const startServer = (runSignal: AbortSignal) =>
    run(
      'pg_ctl',
      ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'server.log'), '-o', serverArgs],
      runSignal,
    )
  const stopServer = (runSignal: AbortSignal) =>
    run('pg_ctl', ['stop', '-w', '-t', '60', '-m', 'fast', '-D', data], runSignal)

  try {
    await run(
      'initdb',
      [
        '-D',
        data,
        '-U',
        'tabswarm',
        '--auth=trust',
        '-E',
        'UTF8',
        '--no-sync',
        '--no-instructions',
      ],
      signal,
    )
    await startServer(signal)
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }

  const url = `postgres://tabswarm@127.0.0.1:${port}/postgres`
  let running = true
  const bounded = (s?: AbortSignal) =>
    AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(s ? [s] : [])])

  return {
    url,
    port,
    async createDatabase(s) {
      const name = `t_${randomBytes(6).toString('hex')}`
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs })
      const onAbort = () => void client.end()
      const sig = bounded(s)
      sig.addEventListener('abort', onAbort, { once: true })
      try {
        await client.connect()
        // The name is ours (hex), never a caller's.
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        sig.removeEventListener('abort', onAbort)
        await client.end().catch(() => {})
      }
      return `postgres://tabswarm@127.0.0.1:${port}/${name}`
    },
    async pause(s) {
      if (!running) return
      await stopServer(bounded(s))
      running = false
    },
    async resume(s) {
      if (running) return
      await startServer(bounded(s))
      running = true
    },
    async stop() {
      if (running) await stopServer(bounded()).catch(() => {})
      running = false
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function postgresUserIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  const [, , uid, gid] = line?.split(':') ?? []
  if (uid == null || gid == null)
    throw new Error(
      'running as root, the test PostgreSQL server needs the `postgres` user (initdb refuses root): install Debian’s `postgresql` package, or run the tests as another user',
    )
  return { uid: Number(uid), gid: Number(gid) }
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
