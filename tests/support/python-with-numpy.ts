import { execFileSync } from 'node:child_process'

let found: string | undefined

/**
 * A Python interpreter that can `import numpy`: the first on PATH, else Debian's
 * (`python3-numpy`, which `.ci/run` installs when neither has it).
 */
export function pythonWithNumpy(): string {
  if (found) return found
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import numpy'], { stdio: 'ignore' })
      found = candidate
      return candidate
    } catch {
      // try the next one
    }
  }
  throw new Error('no python3 with numpy found: install Debian\'s "python3-numpy"')
}
