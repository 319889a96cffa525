import { createHash, createHmac, generateKeyPairSync, sign } from "node:crypto";
import fc from "fast-check";
import { jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  createDeviceJwtSigner,
  decodeDeviceJwt,
  MAX_JWT_LIFETIME_SECONDS,
  mintDeviceJwt,
  verifyDeviceJwt,
} from "../../src/jwt/index.js";
import { base64urlJson, jwtErrorOf, jwtRejectionOf, p256 } from "./helpers.js";

const NOW = 1_800_000_000;
const { privateKey, publicKey } = p256();
const other = p256();

function joseToken(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", ...header }).sign(privateKey);
}

describe("mintDeviceJwt", () => {
  it("makes an ES256 token with sub, iat, exp = iat + 300 and a random jti", async () => {
    const token = mintDeviceJwt({ privateKey, deviceId: "nrf-352656100000001", issuedAt: NOW });
    const { header, claims } = decodeDeviceJwt(token);
    expect(header).toEqual({ alg: "ES256", typ: "JWT" });
    expect(claims).toEqual({
      sub: "nrf-352656100000001",
      iat: NOW,
      exp: NOW + 300,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const again = decodeDeviceJwt(mintDeviceJwt({ privateKey, deviceId: "d", issuedAt: NOW }));
    expect(again.claims.jti).not.toBe(claims.jti);
  });

  it("encodes the signature as raw 64-byte r||s, base64url without padding", async () => {
    const token = mintDeviceJwt({ privateKey, deviceId: "d1" });
    const signature = token.split(".")[2] ?? "";
    expect(signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(Buffer.from(signature, "base64url")).toHaveLength(64);
  });

  it("uses iat = now when issuedAt is not given", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { claims } = decodeDeviceJwt(mintDeviceJwt({ privateKey, deviceId: "d1" }));
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it("takes a given jti and lifetime, and a PEM key (PKCS#8 or SEC1)", async () => {
    const pkcs8 = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const sec1 = privateKey.export({ format: "pem", type: "sec1" }).toString();
    expect(sec1).toContain("BEGIN EC PRIVATE KEY");
    for (const pem of [pkcs8, sec1]) {
      const token = mintDeviceJwt({
        privateKey: pem,
        deviceId: "dev",
        issuedAt: NOW,
        lifetimeSeconds: 3600,
        jti: 'a"quoted\\jti',
      });
      const { claims } = await verifyDeviceJwt(token, { publicKey, now: NOW });
      expect(claims).toEqual({ sub: "dev", iat: NOW, exp: NOW + 3600, jti: 'a"quoted\\jti' });
    }
  });

  it("adds kid = lowercase hex SHA-256 of the DER SubjectPublicKeyInfo, or a given kid", async () => {
    const der = publicKey.export({ format: "der", type: "spki" });
    const expected = createHash("sha256").update(der).digest("hex");
    const withKid = decodeDeviceJwt(mintDeviceJwt({ privateKey, deviceId: "d", kid: true }));
    expect(withKid.header).toEqual({ alg: "ES256", typ: "JWT", kid: expected });
    const named = decodeDeviceJwt(mintDeviceJwt({ privateKey, deviceId: "d", kid: "key-7" }));
    expect(named.header.kid).toBe("key-7");
  });

  it("accepts lifetimes of 1 s to exactly 7 days and refuses the rest with ERR_JWT_LIFETIME", async () => {
    for (const lifetimeSeconds of [1, MAX_JWT_LIFETIME_SECONDS]) {
      const token = mintDeviceJwt({ privateKey, deviceId: "d", issuedAt: NOW, lifetimeSeconds });
      expect(decodeDeviceJwt(token).claims.exp).toBe(NOW + lifetimeSeconds);
    }
    for (const lifetimeSeconds of [0, -5, 1.5, Number.NaN, MAX_JWT_LIFETIME_SECONDS + 1]) {
      const error = jwtErrorOf(() => mintDeviceJwt({ privateKey, deviceId: "d", lifetimeSeconds }));
      expect(error.code).toBe("ERR_JWT_LIFETIME");
    }
  });

  it("validates device IDs: nRF Cloud's pattern, at most 64 characters", async () => {
    for (const deviceId of [
      "a",
      "50363953-3234-4723-80b9-1503d88271bf",
      "A:b_c-1",
      "x".repeat(64),
    ]) {
      expect(() => mintDeviceJwt({ privateKey, deviceId })).not.toThrow();
    }
    for (const deviceId of ["", "has space", "a/b", "é", "x".repeat(65), "a\nb"]) {
      const error = jwtErrorOf(() => mintDeviceJwt({ privateKey, deviceId }));
      expect(error.code).toBe("ERR_JWT_DEVICE_ID");
    }
  });

  it("refuses options that would make a bad token", async () => {
    expect(jwtErrorOf(() => mintDeviceJwt({ privateKey, deviceId: "d", issuedAt: 1.5 })).code).toBe(
      "ERR_JWT_OPTIONS",
    );
    expect(jwtErrorOf(() => mintDeviceJwt({ privateKey, deviceId: "d", jti: "" })).code).toBe(
      "ERR_JWT_OPTIONS",
    );
    expect(jwtErrorOf(() => mintDeviceJwt({ privateKey, deviceId: "d", kid: "" })).code).toBe(
      "ERR_JWT_OPTIONS",
    );
  });

  it("refuses keys that cannot sign ES256 with ERR_JWT_KEY", async () => {
    const keys = [
      publicKey,
      generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey,
      generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey,
      generateKeyPairSync("ed25519").privateKey,
      "not a pem",
      privateKey.export({
        format: "pem",
        type: "pkcs8",
        cipher: "aes-256-cbc",
        passphrase: "secret",
      }) as string,
    ];
    for (const key of keys) {
      const error = jwtErrorOf(() => mintDeviceJwt({ privateKey: key, deviceId: "d" }));
      expect(error.code).toBe("ERR_JWT_KEY");
      expect(error.message).not.toContain("secret");
    }
  });
});

describe("createDeviceJwtSigner", () => {
  it("mints tokens for many devices with one key, each verifying for its own device", async () => {
    const signer = createDeviceJwtSigner(privateKey, { kid: true });
    expect(signer.header.kid).toMatch(/^[0-9a-f]{64}$/);
    for (const deviceId of ["dev-1", "dev-2", "dev-3"]) {
      const token = signer.mint({ deviceId, issuedAt: NOW, lifetimeSeconds: 600 });
      const { header, claims } = await verifyDeviceJwt(token, { publicKey, deviceId, now: NOW });
      expect(header).toEqual(signer.header);
      expect(claims.exp).toBe(NOW + 600);
    }
  });

  it("freezes its header so a caller cannot change what later tokens carry", async () => {
    const signer = createDeviceJwtSigner(privateKey);
    expect(Object.isFrozen(signer.header)).toBe(true);
  });
});

describe("jose as the reference", () => {
  it("jose.jwtVerify accepts every minted token, with and without kid", async () => {
    for (const kid of [false, true]) {
      const token = mintDeviceJwt({ privateKey, deviceId: "dev-1", kid });
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
        algorithms: ["ES256"],
        subject: "dev-1",
        typ: "JWT",
      });
      expect(payload.sub).toBe("dev-1");
      expect(protectedHeader.alg).toBe("ES256");
    }
  });

  it("verifyDeviceJwt accepts tokens made by jose's SignJWT", async () => {
    const token = await new SignJWT({ extra: 1 })
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .setSubject("dev-9")
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + 600)
      .setJti("j-1")
      .sign(privateKey);
    const { header, claims } = await verifyDeviceJwt(token, {
      publicKey,
      deviceId: "dev-9",
      now: NOW,
    });
    expect(header).toEqual({ alg: "ES256", typ: "JWT" });
    expect(claims).toEqual({ sub: "dev-9", iat: NOW, exp: NOW + 600, jti: "j-1", extra: 1 });
  });

  it("property: random device IDs, lifetimes and issue times round-trip through both verifiers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-zA-Z0-9:_-]{1,64}$/),
        fc.integer({ min: 1, max: MAX_JWT_LIFETIME_SECONDS }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.boolean(),
        async (deviceId, lifetimeSeconds, issuedAt, kid) => {
          const token = mintDeviceJwt({ privateKey, deviceId, lifetimeSeconds, issuedAt, kid });
          const ours = await verifyDeviceJwt(token, { publicKey, deviceId, now: issuedAt });
          expect(ours.claims).toMatchObject({
            sub: deviceId,
            iat: issuedAt,
            exp: issuedAt + lifetimeSeconds,
          });
          const theirs = await jwtVerify(token, publicKey, {
            subject: deviceId,
            currentDate: new Date(issuedAt * 1000),
          });
          expect(theirs.payload).toEqual(ours.claims);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("verifyDeviceJwt refuses", () => {
  const valid = () => mintDeviceJwt({ privateKey, deviceId: "dev-1", issuedAt: NOW });

  it("an expired token (ERR_JWT_EXPIRED), like jose does", async () => {
    const token = mintDeviceJwt({ privateKey, deviceId: "dev-1", issuedAt: NOW - 1000 });
    const error = await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW }));
    expect(error.code).toBe("ERR_JWT_EXPIRED");
    expect(error.message).toContain("dev-1");
    await expect(
      jwtVerify(token, publicKey, { currentDate: new Date(NOW * 1000) }),
    ).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });
  });

  it("expiry within the clock tolerance (default 60 s, configurable)", async () => {
    const token = valid(); // exp = NOW + 300
    await expect(verifyDeviceJwt(token, { publicKey, now: NOW + 330 })).resolves.toBeDefined();
    expect(
      (await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW + 360 }))).code,
    ).toBe("ERR_JWT_EXPIRED");
    expect(
      (
        await jwtRejectionOf(() =>
          verifyDeviceJwt(token, { publicKey, now: NOW + 300, clockToleranceSeconds: 0 }),
        )
      ).code,
    ).toBe("ERR_JWT_EXPIRED");
  });

  it("a token signed with another key (ERR_JWT_SIGNATURE)", async () => {
    const error = await jwtRejectionOf(() =>
      verifyDeviceJwt(valid(), { publicKey: other.publicKey, now: NOW }),
    );
    expect(error.code).toBe("ERR_JWT_SIGNATURE");
  });

  it("a token for another device (ERR_JWT_SUBJECT)", async () => {
    const error = await jwtRejectionOf(() =>
      verifyDeviceJwt(valid(), { publicKey, deviceId: "dev-2", now: NOW }),
    );
    expect(error.code).toBe("ERR_JWT_SUBJECT");
    expect(error.details).toMatchObject({ sub: "dev-1", expected: "dev-2" });
  });

  it("a token without sub (ERR_JWT_SUBJECT)", async () => {
    const token = await joseToken({ iat: NOW, exp: NOW + 60 });
    expect((await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW }))).code).toBe(
      "ERR_JWT_SUBJECT",
    );
  });

  it('alg "none" and HS256 (key confusion) with ERR_JWT_ALG', async () => {
    const payload = base64urlJson({ sub: "dev-1", iat: NOW, exp: NOW + 60 });
    const none = `${base64urlJson({ alg: "none", typ: "JWT" })}.${payload}.`;
    expect((await jwtRejectionOf(() => verifyDeviceJwt(none, { publicKey, now: NOW }))).code).toBe(
      "ERR_JWT_ALG",
    );
    const hsInput = `${base64urlJson({ alg: "HS256", typ: "JWT" })}.${payload}`;
    const secret = publicKey.export({ format: "pem", type: "spki" });
    const hs = `${hsInput}.${createHmac("sha256", secret).update(hsInput).digest("base64url")}`;
    const error = await jwtRejectionOf(() => verifyDeviceJwt(hs, { publicKey, now: NOW }));
    expect(error.code).toBe("ERR_JWT_ALG");
    expect(error.details).toEqual({ alg: "HS256" });
    const lowercase = `${base64urlJson({ alg: "es256" })}.${payload}.${"A".repeat(86)}`;
    expect(
      (await jwtRejectionOf(() => verifyDeviceJwt(lowercase, { publicKey, now: NOW }))).code,
    ).toBe("ERR_JWT_ALG");
  });

  it("a tampered payload (ERR_JWT_SIGNATURE)", async () => {
    const [header, , signature] = valid().split(".");
    const forged = base64urlJson({ sub: "dev-1", iat: NOW, exp: NOW + MAX_JWT_LIFETIME_SECONDS });
    const error = await jwtRejectionOf(() =>
      verifyDeviceJwt(`${header}.${forged}.${signature}`, { publicKey, now: NOW }),
    );
    expect(error.code).toBe("ERR_JWT_SIGNATURE");
  });

  it("a DER-encoded ECDSA signature (ERR_JWT_SIGNATURE, saying why)", async () => {
    const [header, payload] = valid().split(".");
    const der = sign("sha256", Buffer.from(`${header}.${payload}`), privateKey);
    const token = `${header}.${payload}.${der.toString("base64url")}`;
    const error = await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW }));
    expect(error.code).toBe("ERR_JWT_SIGNATURE");
    expect(error.message).toMatch(/raw 64-byte r\|\|s.*DER/);
  });

  it("a lifetime over 7 days, a missing exp or iat, exp before iat (ERR_JWT_CLAIMS)", async () => {
    const week = await joseToken({ sub: "d", iat: NOW, exp: NOW + MAX_JWT_LIFETIME_SECONDS });
    expect((await verifyDeviceJwt(week, { publicKey, now: NOW })).claims.sub).toBe("d");
    const cases = [
      { sub: "d", iat: NOW, exp: NOW + MAX_JWT_LIFETIME_SECONDS + 1 },
      { sub: "d", iat: NOW },
      { sub: "d", exp: NOW + 60 },
      { sub: "d", iat: NOW, exp: NOW },
      { sub: "d", iat: NOW, exp: "soon" },
      { sub: "d", iat: NOW, exp: NOW + 60, nbf: NOW + 600 },
    ];
    for (const claims of cases) {
      const token = await joseToken(claims);
      const error = await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW }));
      expect(error.code, JSON.stringify(claims)).toBe("ERR_JWT_CLAIMS");
    }
  });

  it("iat in the future beyond the tolerance (ERR_JWT_CLAIMS)", async () => {
    const token = mintDeviceJwt({ privateKey, deviceId: "d", issuedAt: NOW + 30 });
    await expect(verifyDeviceJwt(token, { publicKey, now: NOW })).resolves.toBeDefined();
    const late = mintDeviceJwt({ privateKey, deviceId: "d", issuedAt: NOW + 120 });
    const error = await jwtRejectionOf(() => verifyDeviceJwt(late, { publicKey, now: NOW }));
    expect(error.code).toBe("ERR_JWT_CLAIMS");
    expect(error.message).toContain("future");
  });

  it("a typ other than JWT and critical header extensions (ERR_JWT_MALFORMED)", async () => {
    const claims = { sub: "d", iat: NOW, exp: NOW + 60 };
    const typ = await joseToken(claims, { typ: "at+jwt" });
    expect((await jwtRejectionOf(() => verifyDeviceJwt(typ, { publicKey, now: NOW }))).code).toBe(
      "ERR_JWT_MALFORMED",
    );
    const crit = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", crit: ["x"], x: 1 })
      .sign(privateKey)
      .catch(() => null);
    // jose itself refuses to sign an unknown crit; build it by hand instead.
    expect(crit).toBeNull();
    const input = `${base64urlJson({ alg: "ES256", crit: ["x"], x: 1 })}.${base64urlJson(claims)}`;
    const signature = sign("sha256", Buffer.from(input), {
      key: privateKey,
      dsaEncoding: "ieee-p1363",
    });
    const critToken = `${input}.${signature.toString("base64url")}`;
    expect(
      (await jwtRejectionOf(() => verifyDeviceJwt(critToken, { publicKey, now: NOW }))).code,
    ).toBe("ERR_JWT_MALFORMED");
  });

  it("structurally broken tokens (ERR_JWT_MALFORMED)", async () => {
    const good = valid();
    const [header = "", payload = "", signature = ""] = good.split(".");
    const broken = [
      "",
      "abc",
      `${header}.${payload}`,
      `${good}.extra`,
      `${header}.${payload}.${signature}==`,
      `${header}.${payload}+.${signature}`,
      `${base64urlJson([1, 2])}.${payload}.${signature}`,
      `${header}.${Buffer.from("not json").toString("base64url")}.${signature}`,
      `${header}.${base64urlJson(null)}.${signature}`,
    ];
    for (const token of broken) {
      expect(
        (await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW }))).code,
        token,
      ).toBe("ERR_JWT_MALFORMED");
    }
  });

  it("a NaN clock or negative tolerance, which would disable the time checks (ERR_JWT_OPTIONS)", async () => {
    const token = valid();
    for (const options of [{ now: Number.NaN }, { now: NOW, clockToleranceSeconds: -1 }]) {
      expect(
        (await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, ...options }))).code,
      ).toBe("ERR_JWT_OPTIONS");
    }
  });

  it("property: arbitrary input only ever fails with a JwtError", async () => {
    const segment = fc.oneof(
      fc.string(),
      fc.json().map((json) => Buffer.from(json).toString("base64url")),
      fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.array(segment, { maxLength: 4 }).map((s) => s.join(".")),
        ),
        async (token) => {
          await jwtRejectionOf(() => verifyDeviceJwt(token, { publicKey, now: NOW }));
          try {
            decodeDeviceJwt(token);
          } catch (error) {
            expect((error as { code?: string }).code).toBe("ERR_JWT_MALFORMED");
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
