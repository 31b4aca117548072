/**
 * Node side of the test model: write it as a model directory, the way a researcher's
 * downloaded model lies on disk, for tests of the CLI and the loaders that read files.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createTestModel,
  type TestModel,
  type TestModelOptions,
  testModelFiles,
} from './test-model.ts'

/**
 * Generate a test model (or take one already generated) and write `config.json`,
 * `model.safetensors` and `tokenizer.json` into `dir`, creating it if needed.
 *
 * @example
 * const model = await writeTestModel(mkdtempSync(join(tmpdir(), 'model-')), { family: 'gpt2' })
 */
export async function writeTestModel(
  dir: string,
  model: TestModel | TestModelOptions,
): Promise<TestModel> {
  const generated = 'safetensors' in model ? model : createTestModel(model)
  await mkdir(dir, { recursive: true })
  for (const [name, bytes] of testModelFiles(generated)) await writeFile(join(dir, name), bytes)
  return generated
}
