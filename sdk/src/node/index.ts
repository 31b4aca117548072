/**
 * The SDK in Node: the same client, able to read a model directory from disk for
 * `generate` (`client.generate('./gpt2-f16', prompt)`), and the model directory loader.
 * Browsers use `@tabswarm/sdk`, whose client takes a `ModelRef` instead.
 */
import {
  type ClientOptions,
  createClient as createBrowserSafeClient,
  type TabswarmClient,
} from '../client/client.ts'
import { uploadModelDirectory } from '../inference/model-directory.ts'

/**
 * `createClient` of `@tabswarm/sdk`, whose `generate`, `generateBatch` and `loadModel` also
 * take a model directory's path (uploaded with `uploadModelDirectory`, once per client).
 *
 * @example
 * import { createClient } from '@tabswarm/sdk/node'
 * const client = createClient({ relay: 'http://127.0.0.1:8787' })
 * for await (const { text } of client.generate('./gpt2-f16', 'Hello,')) process.stdout.write(text)
 */
export function createClient(options: ClientOptions): TabswarmClient {
  const uploaded = new Map<string, ReturnType<typeof uploadModelDirectory>>()
  return createBrowserSafeClient({
    ...options,
    loadModelDirectory:
      options.loadModelDirectory ??
      ((client, dir, { signal }) => {
        let model = uploaded.get(dir)
        if (model == null) {
          model = uploadModelDirectory(client, dir, { signal })
          uploaded.set(dir, model)
          model.catch(() => uploaded.delete(dir))
        }
        return model
      }),
  })
}

export {
  type ModelDirectory,
  type ModelWeightsFile,
  type ReadModelDirectoryOptions,
  readModelDirectory,
  type UploadModelDirectoryOptions,
  uploadModelDirectory,
} from '../inference/model-directory.ts'
export { ModelDirectoryError } from '../inference/model-directory-error.ts'
