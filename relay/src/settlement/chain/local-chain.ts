import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHardhatRuntimeEnvironment } from 'hardhat/hre'
import type { Hex, LocalAccount } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { SettlementError } from '../settlement-error.ts'

/** Hardhat's well-known development mnemonic: its keys are public, never use them elsewhere. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'
/** How many funded accounts the chain derives from {@link DEV_MNEMONIC} (Hardhat's default). */
export const DEV_ACCOUNT_COUNT = 20
/** Chain id of the local development chain (Hardhat's). */
export const LOCAL_CHAIN_ID = 31337
/** How long {@link startLocalChain} waits for EDR and its JSON-RPC server by default. */
export const LOCAL_CHAIN_START_TIMEOUT_MS = 30_000

export interface LocalChainOptions {
  /** Interface the JSON-RPC server binds to; default `127.0.0.1`. */
  host?: string
  /** Port of the JSON-RPC server; 0 (the default) picks a free one. */
  port?: number
  signal?: AbortSignal
  /** Gives up starting after this long; default {@link LOCAL_CHAIN_START_TIMEOUT_MS}. */
  timeoutMs?: number
}

/** A running development chain, reachable over HTTP (and WebSocket) JSON-RPC. */
export interface LocalChain {
  /**
   * `http://host:port`, for viem here and for browsers (the server answers CORS `*`). Built
   * from `host` as given: a server bound to `0.0.0.0` must publish a reachable name instead.
   */
  rpcUrl: string
  chainId: number
  /** The chain's prefunded accounts (10,000 ETH each), index i = mnemonic address index i. */
  devAccounts: LocalAccount[]
  /**
   * Their private keys, in the same order (public knowledge: Hardhat's mnemonic), for what
   * takes a key rather than an account, such as the relay's root poster.
   */
  devPrivateKeys: Hex[]
  /** Stops the JSON-RPC server and frees its port; the chain's state is gone. */
  close(): Promise<void>
}

/**
 * Starts an in-process development chain: Hardhat 3's EDR, built from an inline config
 * (no config file, no compilation, no network access), with automine on (each transaction
 * mined at once in its own block), behind Hardhat's
 * JSON-RPC server so browsers can reach it too.
 *
 * Hardhat resolves a project root and reads `<root>/artifacts/build-info` for stack traces;
 * the root is pinned to this package (not the caller's cwd) and the artifacts and cache
 * paths to an empty temp dir removed on close, so nothing in the cwd is read or written.
 */
export async function startLocalChain(options: LocalChainOptions = {}): Promise<LocalChain> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 0
  const timeoutMs = options.timeoutMs ?? LOCAL_CHAIN_START_TIMEOUT_MS
  const signal = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ])
  // Hardhat's server has no 'error' listener: a port in use would crash the process from an
  // uncaught EADDRINUSE rather than reject, so it is probed first.
  if (port !== 0) await assertPortFree(host, port)
  const scratch = await mkdtemp(join(tmpdir(), 'tabswarm-chain-'))
  let server: Awaited<ReturnType<typeof createServerFor>> | undefined
  try {
    signal.throwIfAborted()
    const started = (async () => {
      server = await createServerFor(host, port, scratch)
      return server.listen()
    })()
    const address = await abortable(started, signal, () => {
      // It may still come up after we gave up: close it when it does.
      started.then(
        () => server?.close().catch(() => {}),
        () => {},
      )
    })
    const devPrivateKeys = devKeys(DEV_ACCOUNT_COUNT)
    const chain: LocalChain = {
      rpcUrl: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
      chainId: LOCAL_CHAIN_ID,
      devAccounts: devPrivateKeys.map((key) => privateKeyToAccount(key)),
      devPrivateKeys,
      close: once(async () => {
        await server?.close()
        await rm(scratch, { recursive: true, force: true })
      }),
    }
    return chain
  } catch (err) {
    await rm(scratch, { recursive: true, force: true })
    if (err instanceof SettlementError) throw err
    const why = options.signal?.aborted
      ? 'the caller aborted'
      : signal.aborted
        ? `it did not listen within ${timeoutMs} ms (a loaded machine may need a longer timeoutMs)`
        : String(err)
    throw new SettlementError(
      'CHAIN_START_FAILED',
      `The local development chain did not start on ${host}:${port}: ${why}.`,
      { cause: err },
    )
  }
}

async function createServerFor(host: string, port: number, scratch: string) {
  const hre = await createHardhatRuntimeEnvironment(
    {
      paths: { artifacts: join(scratch, 'artifacts'), cache: join(scratch, 'cache') },
      networks: {
        local: {
          type: 'edr-simulated',
          chainId: LOCAL_CHAIN_ID,
          mining: { auto: true, interval: 0 },
          // As a real node: a reverting transaction is mined (status 0), not an RPC error.
          throwOnTransactionFailures: false,
        },
      },
    },
    {},
    fileURLToPath(new URL('.', import.meta.url)),
  )
  return hre.network.createServer('local', host, port)
}

/**
 * The keys of the chain's accounts, as `mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i })`
 * derives them, but with one PBKDF2 of the mnemonic (about 35 ms) instead of one per account.
 */
function devKeys(count: number): Hex[] {
  // The account at the path's parent (m/44'/60'/0'/0) exposes that node's HD key.
  const parent = mnemonicToAccount(DEV_MNEMONIC, { path: "m/44'/60'/0'/0" }).getHdKey()
  return Array.from({ length: count }, (_, i) => {
    const key = parent.deriveChild(i).privateKey
    if (key == null) throw new Error(`no private key at address index ${i}`)
    return `0x${Buffer.from(key).toString('hex')}` as Hex
  })
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new SettlementError(
          'CHAIN_START_FAILED',
          `The local development chain cannot listen on ${host}:${port}: ${err.code ?? err.message}. Free the port, or choose another (0 picks a free one).`,
          { cause: err },
        ),
      ),
    )
    probe.listen(port, host, () => probe.close(() => resolve()))
  })
}

function abortable<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort()
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort()
      reject(signal.reason)
    }
    signal.addEventListener('abort', abort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort)
        resolve(value)
      },
      (err) => {
        signal.removeEventListener('abort', abort)
        reject(err)
      },
    )
  })
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined
  return () => {
    done ??= fn()
    return done
  }
}
