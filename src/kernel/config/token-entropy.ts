/**
 * A rough, conservative estimate of how many bits of randomness a token
 * holds, for refusing tokens a person typed (`aaaa…`, `abcabc…`,
 * `0123456789…`, `passwordpassword…`) where a random one is expected.
 *
 * The token is read left to right; a run of three or more characters that
 * continues a repeat of what came before (`abcabc`, `aaaa`, `passwordpassword`)
 * or that steps by the same amount each time (`abcd`, `9876`, `aaaa`) counts
 * as one character, as does any other single character. Each counted one
 * is worth log2 of the smaller of the alphabet its character classes imply
 * (hex 16; digits 10, lower 26, upper 26, others 33, summed) and the number
 * of distinct characters in the token. `openssl rand -base64 32` and
 * `openssl rand -hex 32` give 200 bits or more here; 32 hex characters
 * (`openssl rand -hex 16`, exactly 128 bits) stay just under 128.
 */
export function estimateTokenBits(token: string): number {
  // Beyond this many characters nothing is needed to reach any sensible threshold; the cap keeps the scan small.
  const chars = Array.from(token).slice(0, 256);
  if (chars.length === 0) return 0;
  let counted = 0;
  for (let i = 0; i < chars.length; counted++) {
    const skip = Math.max(repeatAt(chars, i), stepRunAt(chars, i));
    i += skip >= 3 ? skip : 1;
  }
  const distinct = new Set(chars).size;
  return counted * Math.log2(Math.max(1, Math.min(alphabetSize(chars.join("")), distinct)));
}

/** The longest stretch from `i` that repeats one that starts earlier (it may overlap, as in `aaaa`). */
function repeatAt(chars: readonly string[], i: number): number {
  let best = 0;
  for (let j = 0; j < i; j++) {
    let n = 0;
    while (i + n < chars.length && chars[j + n] === chars[i + n]) n++;
    best = Math.max(best, n);
  }
  return best;
}

/** The length of the run from `i` whose characters step by one same amount of -1, 0 or 1 (`abc`, `cba`, `aaa`). */
function stepRunAt(chars: readonly string[], i: number): number {
  if (i + 1 >= chars.length) return 1;
  const code = (k: number) => chars[k]!.codePointAt(0)!;
  const step = code(i + 1) - code(i);
  if (Math.abs(step) > 1) return 1;
  let n = 2;
  while (i + n < chars.length && code(i + n) - code(i + n - 1) === step) n++;
  return n;
}

function alphabetSize(token: string): number {
  if (/^[0-9a-f]+$/.test(token) || /^[0-9A-F]+$/.test(token)) return 16;
  let size = 0;
  if (/[0-9]/.test(token)) size += 10;
  if (/[a-z]/.test(token)) size += 26;
  if (/[A-Z]/.test(token)) size += 26;
  if (/[^0-9a-zA-Z]/.test(token)) size += 33;
  return size;
}
