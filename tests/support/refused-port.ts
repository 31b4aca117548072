import { createServer } from 'node:net'

/**
 * A loopback port nothing listens on: bound to a free port, then closed, so a dial there
 * is refused by the kernel (ECONNREFUSED). Not a well-known port like 9, which fetch
 * refuses by itself ("bad port") before it dials anything.
 */
export async function refusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
