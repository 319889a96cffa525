import { type KeyObject, sign, webcrypto } from "node:crypto";
import { encodeSequence, encodeUnsignedInteger } from "../der/index.js";

/** Signs TBSCertificates with the CA key; returns a DER ECDSA-Sig-Value (ecdsa-with-SHA256). */
export interface CaSigner {
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Node's own crypto: a KeyObject signs synchronously, without WebCrypto's per-call overhead. */
export function nodeKeySigner(privateKey: KeyObject): CaSigner {
  return {
    sign: async (data) => sign("sha256", data, privateKey), // DER ECDSA-Sig-Value by default
  };
}

/**
 * Any WebCrypto provider (@peculiar/webcrypto, an HSM-backed one …). WebCrypto's ECDSA gives
 * the raw r‖s form; X.509 wants the DER SEQUENCE of two INTEGERs.
 */
export function webCryptoSigner(provider: Crypto, privateKey: CryptoKey): CaSigner {
  return {
    sign: async (data) => {
      const raw = new Uint8Array(
        await provider.subtle.sign(
          { name: "ECDSA", hash: "SHA-256" },
          privateKey,
          data as BufferSource,
        ),
      );
      const half = raw.length / 2;
      return encodeSequence(
        encodeUnsignedInteger(raw.subarray(0, half)),
        encodeUnsignedInteger(raw.subarray(half)),
      );
    },
  };
}

/** Whether `provider` is Node's built-in WebCrypto (then the KeyObject path is used). */
export function isNodeWebCrypto(provider: Crypto): boolean {
  return provider === (webcrypto as unknown as Crypto);
}
