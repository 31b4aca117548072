import { createServer } from 'node:net'

/**
 * A loopback TCP port that was free a moment ago: bound to port 0, then closed. A relay can
 * be started (and restarted) on it, and until one is, a dial there is refused by the kernel
 * (ECONNREFUSED), as for a relay that is down; unlike a well-known port such as 9, which
 * fetch refuses by itself ("bad port") before it dials anything.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
