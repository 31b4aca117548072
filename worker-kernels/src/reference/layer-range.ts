/**
 * Checks that layers `fromLayer … toLayer − 1` are a non-empty range of a model of `layers`
 * layers: what a stage, a reference binding or a KV cache covers. Throws `RangeError`
 * naming the range and the model's layers.
 *
 * @example
 * assertLayerRange(config.layers, fromLayer, toLayer)
 */
export function assertLayerRange(layers: number, fromLayer: number, toLayer: number): void {
  if (
    !(Number.isInteger(fromLayer) && Number.isInteger(toLayer)) ||
    fromLayer < 0 ||
    toLayer > layers ||
    fromLayer >= toLayer
  ) {
    throw new RangeError(
      `layer range ${fromLayer}…${toLayer} must be non-empty and within 0…${layers}`,
    )
  }
}
