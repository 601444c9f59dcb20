/**
 * A numeric one-time code of `length` digits from the Workers CSPRNG
 * (crypto.getRandomValues). Each digit comes from one random byte; bytes of
 * 250 or more are thrown away and redrawn, so every digit is exactly uniform
 * (no modulo bias: 250 is the largest multiple of 10 that fits in a byte).
 */
export function generateCode(length: number): string {
  let code = "";
  const bytes = new Uint8Array(length * 2);
  while (code.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      if (b >= 250) continue;
      code += String(b % 10);
      if (code.length === length) break;
    }
  }
  return code;
}
