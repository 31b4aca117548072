/**
 * What the CLI says about float64 `.npy` files, numpy's default dtype, which the swarm does
 * not compute in (WGSL has no f64). Without `--cast float32` they are refused with the fix;
 * with it they are read as float32 by the protocol's `castFloat64Npy`, which keeps about 7
 * significant digits and refuses a finite value beyond float32's range (±3.4e38), naming it.
 */

/** What `--cast` accepts. */
export type NpyCast = 'float32'

/** The message for a float64 input without `--cast`: what it is and both fixes. */
export function float64Refusal(): string {
  return `unsupported dtype '<f8' (float64, numpy's default); Tabswarm computes in float32: save it with np.save(path, a.astype('float32')), or pass --cast float32`
}

/** The warning for float64 inputs read as float32: the precision lost is the researcher's to judge. */
export function castWarning(paths: string[]): string {
  return `tabswarm: warning: ${paths.join(', ')} read as float32 (--cast float32): float32 keeps about 7 significant digits, so results can differ from numpy's float64 beyond that\n`
}

/**
 * An `onCast` that warns on `stream` once, at the first float64 input cast (of many, read
 * concurrently: `tabswarm run`), naming it.
 */
export function warnOnceOnCast(stream: NodeJS.WritableStream): (path: string) => void {
  let warned = false
  return (path) => {
    if (warned) return
    warned = true
    stream.write(castWarning([`${path} and any other float64 input`]))
  }
}
