import type { TensorDtype } from '../dtypes.ts'

/** numpy's `descr` of each dtype in a little-endian `.npy` header. */
const DESCR: Readonly<Record<TensorDtype, string>> = {
  float32: '<f4',
  float16: '<f2',
  int32: '<i4',
  uint32: '<u4',
}

/** numpy's little-endian `descr` for `dtype`, e.g. `'<f4'`. */
export function descrOf(dtype: TensorDtype): string {
  return DESCR[dtype]
}

/** The dtype a little-endian `.npy` `descr` names, or undefined when Tabswarm does not take it. */
export function dtypeOfDescr(descr: string): TensorDtype | undefined {
  return (Object.keys(DESCR) as TensorDtype[]).find((d) => DESCR[d] === descr)
}
