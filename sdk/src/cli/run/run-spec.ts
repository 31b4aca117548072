import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { z } from 'zod'
import { UsageError } from '../usage-error.ts'

const dtype = z.enum(['float32', 'float16', 'int32', 'uint32'])
const dim = z
  .number()
  .int()
  .min(1)
  .max(1 << 24)
const workgroupCount = z.number().int().min(1).max(65_535)

/**
 * `spec.json` of `tabswarm run`: one custom WGSL kernel mapped over many `.npy` inputs, one
 * task and one output file per input. Paths are relative to the spec file.
 *
 * Bindings follow the custom-kernel contract: the input at `@group(0) @binding(0)`
 * (`var<storage, read>`), the output at `@binding(1)` (`var<storage, read_write>`).
 */
export const RunSpecSchema = z
  .object({
    name: z.string().max(128).optional(),
    /** The WGSL source file. */
    wgsl: z.string().min(1),
    entryPoint: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
      .default('main'),
    /** A directory of `.npy` files, or a list of them. */
    inputs: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(100_000)]),
    output: z.object({
      dtype,
      /** The output's shape, or `"input"` for the shape of each task's input. */
      shape: z.union([z.literal('input'), z.array(dim).min(1).max(4)]),
    }),
    /**
     * Workgroups to dispatch per task: fixed `[x, y, z]`, or `{ "elementsPerWorkgroup": 64 }`
     * for `ceil(inputElements / 64)` along x.
     */
    workgroups: z.union([
      z.tuple([workgroupCount, workgroupCount, workgroupCount]),
      z.object({ elementsPerWorkgroup: z.number().int().min(1).max(1024) }),
    ]),
    /** Where outputs go: `<outputDir>/<input name>.npy`. */
    outputDir: z.string().min(1).default('out'),
  })
  .strict()
export type RunSpec = z.infer<typeof RunSpecSchema>

/** A spec with its paths resolved and its inputs listed. */
export interface LoadedRunSpec extends Omit<RunSpec, 'inputs' | 'wgsl'> {
  wgslSource: string
  inputFiles: string[]
}

/** The most inputs one `tabswarm run` submits (each is a task). */
export const MAX_RUN_INPUTS = 100_000

/**
 * Reads and validates `spec.json`, reads its WGSL and lists its inputs. Every problem is a
 * `UsageError` that names the file and the field.
 */
export async function loadRunSpec(
  specPath: string,
  overrides: { outputDir?: string } = {},
): Promise<LoadedRunSpec> {
  let text: string
  try {
    text = await readFile(specPath, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${specPath} (${(err as NodeJS.ErrnoException).code})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${specPath} is not valid JSON: ${(err as Error).message}`)
  }
  const parsed = RunSpecSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const where = issue.path.length > 0 ? issue.path.join('.') : 'the spec'
    throw new UsageError(`${specPath}: ${where}: ${issue.message}`)
  }
  const spec = parsed.data
  const base = dirname(resolve(specPath))
  const wgslPath = resolve(base, spec.wgsl)
  let wgslSource: string
  try {
    wgslSource = await readFile(wgslPath, 'utf8')
  } catch (err) {
    throw new UsageError(
      `${specPath}: wgsl: cannot read ${wgslPath} (${(err as NodeJS.ErrnoException).code})`,
    )
  }
  const inputFiles = await listInputs(base, spec.inputs, specPath)
  const { inputs: _inputs, wgsl: _wgsl, ...rest } = spec
  return {
    ...rest,
    outputDir: resolve(base, overrides.outputDir ?? spec.outputDir),
    wgslSource,
    inputFiles,
  }
}

async function listInputs(base: string, inputs: string | string[], specPath: string) {
  let files: string[]
  if (typeof inputs === 'string') {
    const dir = resolve(base, inputs)
    let entries: string[]
    try {
      if (!(await stat(dir)).isDirectory())
        throw new UsageError(`${specPath}: inputs: ${dir} is not a directory`)
      entries = await readdir(dir)
    } catch (err) {
      if (err instanceof UsageError) throw err
      throw new UsageError(
        `${specPath}: inputs: cannot read ${dir} (${(err as NodeJS.ErrnoException).code})`,
      )
    }
    files = entries
      .filter((f) => extname(f) === '.npy')
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((f) => join(dir, f))
    if (files.length === 0) throw new UsageError(`${specPath}: inputs: no .npy files in ${dir}`)
  } else {
    files = inputs.map((f) => resolve(base, f))
  }
  if (files.length > MAX_RUN_INPUTS)
    throw new UsageError(`${specPath}: inputs: ${files.length} files, at most ${MAX_RUN_INPUTS}`)
  const names = new Set<string>()
  for (const file of files) {
    const name = basename(file)
    if (names.has(name))
      throw new UsageError(`${specPath}: inputs: two inputs are named ${name}; outputs would clash`)
    names.add(name)
  }
  return files
}
