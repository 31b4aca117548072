#!/usr/bin/env node
// The CLI is TypeScript run by Node's type stripping (Node >= 22.18 / 24). npm puts the
// project's own Node 24 (the `node` devDependency) first on PATH for `npx tabswarm` and
// npm scripts, so this works on machines whose system Node is older.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `tabswarm: needs Node >= 22.18 (this is ${process.version}). Run it through npm: 'npx tabswarm ...'.\n`,
  )
  process.exit(2)
}
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
