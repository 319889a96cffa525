/** "invalid-key": the point is not on P-256 (or not an uncompressed point at all). */
export type P256Verdict = "valid" | "invalid-signature" | "invalid-key";
