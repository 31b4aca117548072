// Monte Carlo estimate of pi: each invocation draws SAMPLES points in the unit square from
// its own seed and counts those inside the quarter circle. One task = one file of seeds.
//
// Bindings follow Tabswarm's custom-kernel contract: inputs first (read-only storage),
// then outputs (read_write storage), all in group 0.
//
// Unbiased to far below the standard error: each coordinate is a 24-bit uniform taken at
// the centre of its cell, u = (x + 0.5) / 2^24 for x in [0, 2^24), and the test
// u² + v² < 1 is done exactly in integers. Over the whole 2^24 × 2^24 grid the hit rate is
// π/4 to within 2e-11 (a grid of cell corners, axes included, as this kernel once used at
// 15 bits, is biased by +1.2e-4). Integer-only, so every GPU produces the same counts and
// redundant results compare exactly; tests/support/monte-carlo-reference.ts is its CPU twin.

@group(0) @binding(0) var<storage, read> seeds: array<u32>;
@group(0) @binding(1) var<storage, read_write> hits: array<u32>;

const SAMPLES: u32 = 4096u;

// lowbias32 (C. Wellons): a 32-bit integer hash with near-ideal avalanche, to turn a seed
// into a generator's state and stream.
fn hash(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

// PCG-RXS-M-XS 32 with a stream (odd increment) of its own per seed: invocations draw from
// distinct sequences, not from overlapping stretches of one.
struct Pcg {
  state: u32,
  inc: u32,
}

fn next(rng: ptr<function, Pcg>) -> u32 {
  let s = (*rng).state * 747796405u + (*rng).inc;
  (*rng).state = s;
  let word = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (word >> 22u) ^ word;
}

// a · b as a 64-bit (lo, hi) pair: WGSL has no u64.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// ((x + 0.5)² + (y + 0.5)²) / 2^48 < 1  ⇔  x(x + 1) + y(y + 1) < 2^48, for x, y < 2^24.
fn inside_circle(x: u32, y: u32) -> bool {
  let fx = mul_wide(x, x + 1u);
  let fy = mul_wide(y, y + 1u);
  let lo = fx.x + fy.x;
  let hi = fx.y + fy.y + select(0u, 1u, lo < fx.x);
  return hi < 0x10000u;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= arrayLength(&seeds)) {
    return;
  }
  let seed = seeds[i];
  var rng = Pcg(hash(seed), (hash(seed ^ 0x9e3779b9u) << 1u) | 1u);
  var inside = 0u;
  for (var s = 0u; s < SAMPLES; s++) {
    // The top 24 bits: PCG's best.
    let x = next(&rng) >> 8u;
    let y = next(&rng) >> 8u;
    if (inside_circle(x, y)) {
      inside++;
    }
  }
  hits[i] = inside;
}
