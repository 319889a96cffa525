import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import { JwtError } from "./errors.js";

/** A software device key pair as PEM: PKCS#8 private key, SubjectPublicKeyInfo public key (LF, trailing LF). */
export interface DeviceKeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Generates a P-256 device key pair, the only key type nRF Cloud accepts for device JWTs. */
export function generateDeviceKeyPair(): DeviceKeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/**
 * A P-256 private key from a KeyObject or a PEM string (PKCS#8 "PRIVATE KEY" or SEC1
 * "EC PRIVATE KEY"). Throws ERR_JWT_KEY for anything else, including encrypted PEM.
 */
export function toDevicePrivateKey(key: KeyObject | string): KeyObject {
  let keyObject: KeyObject;
  if (typeof key === "string") {
    try {
      keyObject = createPrivateKey({ key, format: "pem" });
    } catch (cause) {
      throw new JwtError(
        "ERR_JWT_KEY",
        "The device private key is not a readable PEM private key (PKCS#8 or SEC1, unencrypted): pass the key written by `nrf-provision jwt keygen` or `openssl ecparam -name prime256v1 -genkey`.",
        { cause },
      );
    }
  } else {
    keyObject = key;
  }
  if (keyObject.type !== "private") {
    throw new JwtError(
      "ERR_JWT_KEY",
      `Signing a device JWT needs the device's private key, got a ${keyObject.type} key.`,
      { details: { keyType: keyObject.type } },
    );
  }
  assertP256(keyObject);
  return keyObject;
}

/**
 * A P-256 public key from a KeyObject (a private key yields its public half), a SPKI
 * "PUBLIC KEY" PEM, or a certificate PEM (the key nRF Cloud takes from an onboarded
 * certificate). Throws ERR_JWT_KEY for anything else.
 */
export function toDevicePublicKey(key: KeyObject | string): KeyObject {
  let keyObject: KeyObject;
  try {
    if (typeof key !== "string") keyObject = key.type === "private" ? createPublicKey(key) : key;
    else if (key.includes("-----BEGIN CERTIFICATE-----")) {
      keyObject = new X509Certificate(key).publicKey;
    } else keyObject = createPublicKey({ key, format: "pem" });
  } catch (cause) {
    throw new JwtError(
      "ERR_JWT_KEY",
      "The device public key is not a readable PEM public key or certificate: pass a SPKI `-----BEGIN PUBLIC KEY-----` PEM or the device certificate.",
      { cause },
    );
  }
  if (keyObject.type === "secret") {
    throw new JwtError(
      "ERR_JWT_KEY",
      "Device JWTs are verified with an EC public key, got a secret key.",
    );
  }
  assertP256(keyObject);
  return keyObject;
}

/** The firmware's `kid`: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo. */
export function publicKeyKid(key: KeyObject | string): string {
  const der = toDevicePublicKey(key).export({ format: "der", type: "spki" });
  return createHash("sha256").update(der).digest("hex");
}

function assertP256(key: KeyObject): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== "ec" || curve !== "prime256v1") {
    const actual =
      key.asymmetricKeyType === "ec" ? `EC ${curve ?? "unknown curve"}` : key.asymmetricKeyType;
    throw new JwtError(
      "ERR_JWT_KEY",
      `Device JWTs are ES256 and need an EC P-256 key, got ${actual}: generate one with \`nrf-provision jwt keygen\`.`,
      { details: { keyType: key.asymmetricKeyType, namedCurve: curve } },
    );
  }
}
