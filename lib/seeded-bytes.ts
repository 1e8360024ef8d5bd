/**
 * Payload bytes from a seed (--seed): splitmix64, byte for byte the generator the native driver uses
 * (clients/native/tcp-load.c), so every driver sends the same bytes for the same seed, in every run.
 */
const GAMMA = 0x9e3779b97f4a7c15n;
const MASK = (1n << 64n) - 1n;

/** Fills `target` from `offset` with bytes from `seed`; without a seed, with random bytes. */
export function fillPayload(
  target: Uint8Array,
  offset: number,
  seed: number | undefined,
  random: (b: Uint8Array) => void,
): void {
  if (seed === undefined) {
    random(target.subarray(offset));
    return;
  }
  let x = BigInt(seed);
  for (let i = offset; i < target.length; i++) {
    x = (x + GAMMA) & MASK;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    target[i] = Number((z ^ (z >> 31n)) & 0xffn);
  }
}
