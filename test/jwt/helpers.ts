import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { expect } from "vitest";
import { JwtError } from "../../src/jwt/index.js";

export function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Runs `fn` and returns the JwtError it throws, failing the test for anything else. */
export function jwtErrorOf(fn: () => unknown): JwtError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(JwtError);
    return error as JwtError;
  }
  throw new Error("expected a JwtError, nothing was thrown");
}

/** The JwtError an async call rejects with (verification is async: jose loads on first use). */
export async function jwtRejectionOf(fn: () => Promise<unknown>): Promise<JwtError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(JwtError);
    return error as JwtError;
  }
  throw new Error("expected a JwtError, nothing was thrown");
}
