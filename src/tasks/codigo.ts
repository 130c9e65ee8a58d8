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

/** The task id a code was made from, or null when no task id gives that code. Lets a task be
 *  found by its code through the primary key (codes themselves are not indexed: see migrations). */
export function taskIdFromCodigo(codigo: string): number | null {
  const m = /^T-([0-9A-Z]{4,12})$/.exec(codigo.trim().toUpperCase());
  if (!m) return null;
  const digits = m[1]!;
  const mod = BASE ** BigInt(digits.length);
  let x = 0n;
  for (const ch of digits) x = x * BASE + BigInt(ALPHABET.indexOf(ch));
  const id = Number((((((x - B) % mod) + mod) % mod) * inverse(A % mod, mod)) % mod);
  return Number.isSafeInteger(id) && id > 0 && taskCodigo(id) === `T-${digits}` ? id : null;
}

/** a⁻¹ mod m (a and m coprime), by the extended Euclidean algorithm. */
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}
