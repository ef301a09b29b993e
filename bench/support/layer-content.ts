/**
 * Generated file content that compresses like real image content. Content that is one short
 * string repeated compresses about 170:1 and gunzips at over 800 MB/s here, far faster than any
 * real layer; the mount benchmark's gunzip limit would then measure nothing real.
 *
 * This generator draws words of 2 to 31 letters from a fixed vocabulary (skewed, so some
 * words are common) with a run of random bytes now and then. Calibrated against /usr/lib on
 * the benchmark machine (303 MB of it: gzip -6 ratio 2.53, Node gunzipSync 294 MB/s), 150 MiB
 * of this content gave ratio 2.54 and 294 MB/s. Seeded: every run makes the same bytes.
 */

/** xorshift32: a small seeded generator (Math.random cannot be seeded). */
export function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** `size` bytes of text-like content with one random byte run in twenty draws. */
export function contentPool(size: number, seed = 7): Buffer {
  const random = generator(seed);
  const vocabulary = Array.from({ length: 4096 }, () => {
    const word = Buffer.alloc(2 + Math.floor(random() * 30));
    for (let j = 0; j < word.length; j++) word[j] = 97 + Math.floor(random() * 26);
    return word;
  });
  const out = Buffer.alloc(size);
  for (let at = 0; at < size;) {
    if (random() >= 0.05) {
      at += vocabulary[Math.floor(random() * random() * vocabulary.length)]!.copy(out, at);
    } else {
      const run = 1 + Math.floor(random() * 8);
      for (let j = 0; j < run && at < size; j++) out[at++] = Math.floor(random() * 256);
    }
  }
  return out;
}

/** Slices of `pool` at seeded offsets: file bodies that differ but share a vocabulary. */
export function slicer(pool: Buffer, seed = 3): (length: number) => Buffer {
  const random = generator(seed);
  return (length) => {
    const at = Math.floor(random() * (pool.length - length));
    return pool.subarray(at, at + length);
  };
}
