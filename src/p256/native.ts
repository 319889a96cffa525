import { createRequire } from "node:module";
import type { P256Verdict } from "./verdict.js";

/** native/p256-verify as built by scripts/build-native.mjs (from src/p256 and dist/p256 alike). */
const ADDON_PATH = "../../native/p256-verify/build/Release/p256_verify.node";

interface P256Addon {
  /** 1 valid, 0 invalid signature, -1 invalid public key. */
  verify(point: Uint8Array, data: Uint8Array, signatureDer: Uint8Array): number;
}

/** One verification: native, or the node:crypto fallback with the same signature. */
export type P256Verify = (
  point: Uint8Array,
  data: Uint8Array,
  signatureDer: Uint8Array,
) => P256Verdict;

/**
 * The native verifier, or why it is not there: not built (no toolchain at install), turned off
 * with NRF_PROVISION_NATIVE=0, or refused to load (its self-test, a missing OpenSSL symbol).
 */
export function loadNativeVerifier(
  env: NodeJS.ProcessEnv = process.env,
): { verify: P256Verify } | { unavailable: string } {
  if (env.NRF_PROVISION_NATIVE === "0") return { unavailable: "NRF_PROVISION_NATIVE=0" };
  let addon: P256Addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as P256Addon;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      unavailable:
        code === "MODULE_NOT_FOUND"
          ? "not built (npm run build:native)"
          : `failed to load: ${(error as Error).message}`,
    };
  }
  return {
    verify: (point, data, signatureDer) => {
      const result = addon.verify(point, data, signatureDer);
      return result === 1 ? "valid" : result === 0 ? "invalid-signature" : "invalid-key";
    },
  };
}
