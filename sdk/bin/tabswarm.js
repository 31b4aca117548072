#!/usr/bin/env node
// The CLI is TypeScript run by Node's type stripping (Node >= 22.18 / 24). npm puts the
// project's own Node 24 (the `node` devDependency) first on PATH for `npx tabswarm` and
// npm scripts. Run any other way (a link on PATH, `npm link`, from another directory) under
// an older system Node, this file hands itself to the project's Node 24 when the clone has
// it, so `tabswarm` works from anywhere.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  // This file's real path (Node resolves the link it was started through): the clone's root
  // is two levels up, the sdk package's own node_modules one.
  const candidates = ['../../node_modules/node/bin/node', '../node_modules/node/bin/node'].map(
    (path) => fileURLToPath(new URL(path, import.meta.url)),
  )
  const node = candidates.find((path) => existsSync(path))
  if (node == null) {
    process.stderr.write(
      `tabswarm: needs Node >= 22.18 (this is ${process.version}). Run 'npm install' in the clone (it installs Node 24 for the project), or run it through npm there: 'npx tabswarm ...'.\n`,
    )
    process.exit(2)
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  // Ctrl-C reaches the child from the terminal itself (the same process group): passing it
  // on too would be a second Ctrl-C (a worker would hand its task back at once). Signals
  // sent to this process alone (kill, a service manager) are passed on.
  process.on('SIGINT', () => undefined)
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1)
  })
} else {
  const { main } = await import('../src/cli/main.ts')
  process.exitCode = await main(process.argv.slice(2))
}
