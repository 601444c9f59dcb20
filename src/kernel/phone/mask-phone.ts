/** `+919876543210` → `+91******3210`: enough to correlate log lines, not to identify a person. */
export function maskPhone(e164: string): string {
  if (e164.length <= 7) return "*".repeat(e164.length);
  return `${e164.slice(0, 3)}${"*".repeat(e164.length - 7)}${e164.slice(-4)}`;
}
