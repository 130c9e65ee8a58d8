// Task codes ("T-4KQ2"): derived from the task id by a bijection, so they are unique by
// construction (no retry on collision inside the webhook's transaction) yet do not read as a
// counter. Four characters cover the first 1.68 million tasks, then codes grow by one.
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE = 36n;
// Any multiplier coprime to 36 (not divisible by 2 or 3) makes x -> (A*x + B) mod 36^k a permutation.
const A = 1_234_567_891n;
const B = 987_654_321n;

export function taskCodigo(id: number): string {
  let k = 4;
  while (BigInt(id) >= BASE ** BigInt(k)) k++;
  const mod = BASE ** BigInt(k);
  let x = (A * BigInt(id) + B) % mod;
  let s = "";
  for (let i = 0; i < k; i++) {
    s = ALPHABET[Number(x % BASE)] + s;
    x /= BASE;
  }
  return `T-${s}`;
}
