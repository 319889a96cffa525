import { generateKeyPairSync } from "node:crypto";
import { base64url, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { CloudError } from "../../src/cloud/index.js";
import { generateDeviceKeyPair, mintDeviceJwt } from "../../src/jwt/index.js";
import { clientFor, fastWait, useSimCloud } from "./helpers.js";

describe("device JWTs against the simulated nRF Cloud", () => {
  const startSim = useSimCloud();

  it("OnboardDevice with an ES256 public key: the device's JWTs work, another key's get 401", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const device = generateDeviceKeyPair();
    const other = generateDeviceKeyPair();
    await client.onboardDevice({ deviceId: "key-only", certificate: device.publicKeyPem });
    expect(sim.devices.get("key-only")).toMatchObject({
      onboardingPem: device.publicKeyPem,
      certificateFingerprint: null,
    });
    const jwt = mintDeviceJwt({ privateKey: device.privateKeyPem, deviceId: "key-only" });
    await client.updateDeviceState({ deviceId: "key-only", state: { reported: { a: 1 } }, jwt });
    expect((await client.fetchDevice({ deviceId: "key-only", jwt })).state?.version).toBe(1);
    const forged = mintDeviceJwt({ privateKey: other.privateKeyPem, deviceId: "key-only" });
    await expect(
      client.updateDeviceState({ deviceId: "key-only", state: { reported: {} }, jwt: forged }),
    ).rejects.toMatchObject({ code: "ERR_CLOUD_AUTH", details: { status: 401 } });
    // A P-384 key has the right PEM shape but is not ES256: the server refuses it.
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    await expect(
      client.onboardDevice({ deviceId: "p384", certificate: p384 }),
    ).rejects.toMatchObject({
      details: { status: 400 },
      message: expect.stringMatching(/not an ES256/),
    });
  });

  it("10 software devices: register public keys, mint JWTs, update state; bad tokens get 401", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const devices = Array.from({ length: 10 }, (_, i) => ({
      deviceId: `sw-device-${i}`,
      onboarding: generateDeviceKeyPair(),
      jwtKey: generateDeviceKeyPair(),
    }));
    // Onboard with the public-key modality, then register a dedicated JWT-signing key.
    const onboarded = await client.waitForBulkUpload(
      await client.onboardDevices(
        devices.map((d) => ({ deviceId: d.deviceId, certificate: d.onboarding.publicKeyPem })),
      ),
      fastWait,
    );
    expect(onboarded.status).toBe("SUCCEEDED");
    const registered = await client.waitForBulkUpload(
      await client.registerPublicKeys(
        devices.map((d) => ({ deviceId: d.deviceId, publicKey: d.jwtKey.publicKeyPem })),
      ),
      fastWait,
    );
    expect(registered.status).toBe("SUCCEEDED");

    for (const [i, device] of devices.entries()) {
      const jwt = mintDeviceJwt({
        privateKey: device.jwtKey.privateKeyPem,
        deviceId: device.deviceId,
      });
      await client.updateDeviceState({
        deviceId: device.deviceId,
        jwt,
        state: { reported: { index: i } },
      });
      const fetched = await client.fetchDevice({ deviceId: device.deviceId, jwt });
      expect(fetched.state).toMatchObject({ reported: { index: i }, version: 1 });
    }

    const target = devices[0];
    if (!target) throw new Error("no device");
    const now = Math.floor(Date.now() / 1000);
    const state = { reported: { bad: true } };
    const tokens: Record<string, string> = {
      expired: mintDeviceJwt({
        privateKey: target.jwtKey.privateKeyPem,
        deviceId: target.deviceId,
        issuedAt: now - 3600,
        lifetimeSeconds: 600,
      }),
      "wrong key": mintDeviceJwt({
        privateKey: generateDeviceKeyPair().privateKeyPem,
        deviceId: target.deviceId,
      }),
      "wrong sub": mintDeviceJwt({
        privateKey: target.jwtKey.privateKeyPem,
        deviceId: "sw-device-1",
      }),
      "alg none": `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url.encode(
        JSON.stringify({ sub: target.deviceId, iat: now, exp: now + 300 }),
      )}.`,
      "HS256 with the public key as secret": await new SignJWT({ sub: target.deviceId })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(target.jwtKey.publicKeyPem)),
      "iat in the future": mintDeviceJwt({
        privateKey: target.jwtKey.privateKeyPem,
        deviceId: target.deviceId,
        issuedAt: now + 3600,
      }),
    };
    for (const [name, jwt] of Object.entries(tokens)) {
      const refusal = client.updateDeviceState({ deviceId: target.deviceId, jwt, state });
      await expect(refusal, name).rejects.toMatchObject({
        code: "ERR_CLOUD_AUTH",
        details: { status: 401, nrfErrorCode: 40100 },
      });
      const error = (await refusal.catch((rejection: unknown) => rejection)) as CloudError;
      expect(JSON.stringify(error.toJSON()), name).not.toContain(jwt);
    }
    expect(sim.devices.get(target.deviceId)?.shadow.reported).toEqual({ index: 0 });
  });

  it("accepts tokens signed with the onboarded certificate's key, and a minimal sub+iat token made by jose", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { createSimCertificateAuthority } = await import("../../src/sim/cloud/index.js");
    const ca = await createSimCertificateAuthority();
    await client.onboardDevice({
      deviceId: "cert-dev",
      certificate: ca.issue({ deviceId: "cert-dev", publicKey }),
    });
    const minimal = await new SignJWT({ sub: "cert-dev" })
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .setIssuedAt()
      .sign(privateKey);
    await client.updateDeviceState({
      deviceId: "cert-dev",
      jwt: minimal,
      state: { reported: { ok: 1 } },
    });
    // A JWT for a device nRF Cloud knows no key for is refused.
    const stranger = mintDeviceJwt({ privateKey, deviceId: "no-such-device" });
    await expect(
      client.fetchDevice({ deviceId: "no-such-device", jwt: stranger }),
    ).rejects.toMatchObject({ details: { status: 401 } });
    // A device JWT is not an API key.
    await expect(
      clientFor(sim, {
        apiKey: mintDeviceJwt({ privateKey, deviceId: "cert-dev" }),
      }).listBulkOpsRequests(),
    ).rejects.toMatchObject({ code: "ERR_CLOUD_AUTH" });
  });
});
