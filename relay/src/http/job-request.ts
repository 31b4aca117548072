import { z } from 'zod'

const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected the blob hash returned by PUT /v1/blobs')
const dim = z
  .number()
  .int()
  .min(1)
  .max(1 << 24)

export const TensorRefSchema = z.object({
  blob: sha256,
  dtype: z.literal('float32'),
  shape: z.tuple([dim, dim]),
})

/** Body of `POST /v1/jobs`. */
export const CreateJobSchema = z.object({
  kernel: z.literal('matmul'),
  inputs: z.object({ a: TensorRefSchema, b: TensorRefSchema }),
})
export type CreateJobRequest = z.infer<typeof CreateJobSchema>
