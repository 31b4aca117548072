import { constants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { UsageError } from './usage-error.ts'

/**
 * Makes sure `outputDir` can take the outputs before any work is paid for: it is not the
 * directory of an input (outputs are named after their inputs and would overwrite them),
 * and it exists (created if need be) and is writable.
 */
export async function prepareOutputDir(outputDir: string, inputFiles: readonly string[]) {
  const dir = resolve(outputDir)
  const inputDirs = new Set(inputFiles.map((file) => dirname(resolve(file))))
  if (inputDirs.has(dir))
    throw new UsageError(
      `the output directory ${dir} holds inputs, which the outputs (named after them) would overwrite: choose another (-o)`,
    )
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(`cannot write to the output directory ${dir} (${code})`)
  }
}

/** Checks the directory a single output file goes to exists and is writable. */
export async function checkOutputFile(path: string) {
  const dir = dirname(resolve(path))
  try {
    await access(dir, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(
      code === 'ENOENT'
        ? `the output's directory ${dir} does not exist`
        : `cannot write ${path} (${code})`,
    )
  }
}
