/** A seeded PRNG (mulberry32) so fault injection and IDs are reproducible per seed. */
export function seededRandom(seed: number | string): () => number {
  let state =
    typeof seed === "number"
      ? seed >>> 0
      : [...seed].reduce(
          (hash, char) => Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0,
          2166136261,
        );
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID (48-bit ms time + 80 random bits, Crockford base32), like nRF Cloud's bulk IDs. */
export function ulid(timeMs: number, random: () => number): string {
  let time = "";
  let t = timeMs;
  for (let i = 0; i < 10; i += 1) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rest = "";
  for (let i = 0; i < 16; i += 1) rest += CROCKFORD[Math.floor(random() * 32)];
  return time + rest;
}
