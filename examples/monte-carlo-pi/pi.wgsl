// Monte Carlo estimate of pi: each invocation draws SAMPLES points in the unit square from
// its own seed and counts those inside the quarter circle. One task = one file of seeds.
//
// Bindings follow Tabswarm's custom-kernel contract: inputs first (read-only storage),
// then outputs (read_write storage), all in group 0.

@group(0) @binding(0) var<storage, read> seeds: array<u32>;
@group(0) @binding(1) var<storage, read_write> hits: array<u32>;

const SAMPLES: u32 = 4096u;

// PCG-RXS-M-XS 32: small state, good statistical quality, integer-only (so every GPU
// produces the same counts and redundant results compare exactly).
fn pcg(state: ptr<function, u32>) -> u32 {
  let s = *state * 747796405u + 2891336453u;
  *state = s;
  let word = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= arrayLength(&seeds)) {
    return;
  }
  var state = seeds[i];
  var inside = 0u;
  for (var s = 0u; s < SAMPLES; s++) {
    // 15-bit coordinates in [0, 2^15): x² + y² < 2^31 is exact in u32, no float rounding.
    let x = pcg(&state) >> 17u;
    let y = pcg(&state) >> 17u;
    if (x * x + y * y < 1073741824u) {
      inside++;
    }
  }
  hits[i] = inside;
}
