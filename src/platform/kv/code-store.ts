/**
 * Workers KV holds each issued code's keyed hash under a key of its own
 * (`otp:<E.164>:<code id>`), written once with the code's lifetime as TTL.
 * Because a key is never rewritten, an eventually consistent read can only
 * be "missing", never an older value; and KV's one-write-per-second-per-key
 * limit never applies. KV decides nothing: which code is current, whether it
 * was used and how many tries are left all live in the number's Durable Object.
 */

interface StoredCode {
  v: 1;
  hash: string;
}

const keyFor = (phone: string, codeId: string) => `otp:${phone}:${codeId}`;

export async function putCodeHash(
  kv: KVNamespace,
  phone: string,
  codeId: string,
  hash: string,
  ttlSeconds: number,
): Promise<void> {
  const value: StoredCode = { v: 1, hash };
  await kv.put(keyFor(phone, codeId), JSON.stringify(value), { expirationTtl: ttlSeconds });
}

export async function getCodeHash(kv: KVNamespace, phone: string, codeId: string): Promise<string | undefined> {
  const value = await kv.get<StoredCode>(keyFor(phone, codeId), "json");
  return value?.v === 1 && typeof value.hash === "string" ? value.hash : undefined;
}

export async function deleteCodeHash(kv: KVNamespace, phone: string, codeId: string): Promise<void> {
  await kv.delete(keyFor(phone, codeId));
}
