/**
 * Caps on an inference job and its tasks. A spec is untrusted (and so is every result):
 * these bound what the relay allocates per job before any weight or token is read.
 */

/** Most prompts one job generates from (each one a sequence of its own). */
export const MAX_PROMPTS = 256
/** Longest prompt, in tokens. */
export const MAX_PROMPT_TOKENS = 4096
/** Most tokens generated per prompt. */
export const MAX_NEW_TOKENS = 1024
/** Most stop token ids. */
export const MAX_STOP_TOKENS = 16
/** Most safetensors files one model is stored in. */
export const MAX_MODEL_FILES = 64
/**
 * Most weight tensors one task binds (a stage's layers, or a whole model in batch mode):
 * a 16-layer GPT-2 (12 tensors a layer, 4 outside) fits, and so does a 24-layer Llama.
 */
export const MAX_STAGE_TENSORS = 256
/** Most prompts one batch-mode task runs. */
export const MAX_BATCH_PROMPTS = 64
/** Prompts per batch-mode task when the spec names none. */
export const DEFAULT_BATCH_PROMPTS = 16
/**
 * How many of the largest logits a stage that ends the model returns, when sampling keeps
 * no fewer (`topK`): what the coordinator samples from and a verifier compares.
 */
export const DEFAULT_TOP_LOGITS = 64
/** Most logits a task returns per position. */
export const MAX_TOP_LOGITS = 256
/** Most pipeline stages (contiguous layer ranges) one model is split into. */
export const MAX_STAGES = 64
