/**
 * common/secrets — comparing presented credentials with configured ones in constant time. Both
 * sides are SHA-256 digests, so neither a secret's content nor its length shows in the timing;
 * the tracking server's auth and the inference API's keys use the same comparison.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a secret's UTF-8 bytes: what is kept and compared instead of the secret. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Whether `presented` equals one of the `accepted` digests, in time independent of both. */
export function matchesSecret(presented: string, accepted: readonly Buffer[]): boolean {
  const digest = secretDigest(presented);
  let found = false;
  // Every digest is compared, so the position of a match does not show either.
  for (const candidate of accepted) found = timingSafeEqual(candidate, digest) || found;
  return found;
}
