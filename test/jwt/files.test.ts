import { mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildPublicKeysCsv,
  generateDeviceKeyPair,
  mintBatch,
  numberedDeviceIds,
  parseMintBatch,
  readDevicePrivateKeyFile,
  readDevicePublicKeyFile,
  readMintBatchFile,
  verifyDeviceJwt,
  writeDeviceKeyPairs,
} from "../../src/jwt/index.js";
import { jwtErrorOf } from "./helpers.js";

const publicKeyPemPattern =
  /^-{5}BEGIN PUBLIC KEY-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END PUBLIC KEY-{5}(\r\n|\r|\n)$/;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "nrfp-jwt-files-"));
}

/** Splits a RegisterPublicKeys CSV body into [deviceId, pem] rows, checking its framing. */
function parseCsv(csv: string): Array<[string, string]> {
  const rows = [...csv.matchAll(/([^,\n]+),"([^"]*)"\n/g)];
  expect(rows.map((m) => m[0]).join("")).toBe(csv);
  return rows.map((m) => [m[1] ?? "", m[2] ?? ""]);
}

describe("numberedDeviceIds", () => {
  it("zero-pads to the width of the last number", () => {
    expect(numberedDeviceIds("dev-", 3)).toEqual(["dev-1", "dev-2", "dev-3"]);
    expect(numberedDeviceIds("dev-", 10)).toEqual([
      "dev-01",
      "dev-02",
      "dev-03",
      "dev-04",
      "dev-05",
      "dev-06",
      "dev-07",
      "dev-08",
      "dev-09",
      "dev-10",
    ]);
    expect(numberedDeviceIds("t", 2, 99)).toEqual(["t099", "t100"]);
  });

  it("refuses a prefix that makes invalid device IDs", () => {
    expect(jwtErrorOf(() => numberedDeviceIds("bad prefix ", 1)).code).toBe("ERR_JWT_DEVICE_ID");
    expect(jwtErrorOf(() => numberedDeviceIds("x".repeat(64), 1)).code).toBe("ERR_JWT_DEVICE_ID");
  });
});

describe("buildPublicKeysCsv", () => {
  it('writes deviceId,"PEM" rows, LF-terminated, no header, each PEM matching nRF Cloud\'s regex', () => {
    const rows = ["a-1", "a-2"].map((deviceId) => ({
      deviceId,
      publicKeyPem: generateDeviceKeyPair().publicKeyPem,
    }));
    const csv = buildPublicKeysCsv(rows);
    expect(csv.startsWith('a-1,"-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    expect(csv.endsWith('-----END PUBLIC KEY-----\n"\n')).toBe(true);
    const parsed = parseCsv(csv);
    expect(parsed.map(([id]) => id)).toEqual(["a-1", "a-2"]);
    for (const [, pem] of parsed) expect(pem).toMatch(publicKeyPemPattern);
  });

  it("refuses an invalid device ID", () => {
    const publicKeyPem = generateDeviceKeyPair().publicKeyPem;
    expect(jwtErrorOf(() => buildPublicKeysCsv([{ deviceId: "a,b", publicKeyPem }])).code).toBe(
      "ERR_JWT_DEVICE_ID",
    );
  });
});

describe("writeDeviceKeyPairs", () => {
  it("writes <id>.key.pem (0600) and <id>.pub.pem that belong together, and the CSV", async () => {
    const dir = join(tempDir(), "nested", "keys");
    const csvPath = join(dir, "..", "public-keys.csv");
    const written = await writeDeviceKeyPairs(dir, ["d-1", "d-2"], { csvPath });
    expect(written.map((w) => w.privateKeyPath)).toEqual([
      join(dir, "d-1.key.pem"),
      join(dir, "d-2.key.pem"),
    ]);
    for (const { deviceId, privateKeyPath, publicKeyPath, publicKeyPem } of written) {
      expect(statSync(privateKeyPath).mode & 0o777).toBe(0o600);
      expect(readFileSync(publicKeyPath, "utf8")).toBe(publicKeyPem);
      const privateKey = await readDevicePrivateKeyFile(privateKeyPath);
      const publicKey = await readDevicePublicKeyFile(publicKeyPath);
      const token = (await mintBatch([{ deviceId, keyPath: privateKeyPath, line: 1 }]).next())
        .value;
      expect(privateKey.type).toBe("private");
      expect((await verifyDeviceJwt(token?.token ?? "", { publicKey, deviceId })).claims.sub).toBe(
        deviceId,
      );
    }
    expect(parseCsv(readFileSync(csvPath, "utf8"))).toEqual(
      written.map((w) => [w.deviceId, w.publicKeyPem]),
    );
  });

  it("refuses to overwrite any existing file, before writing anything", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "d-2.pub.pem"), "keep me");
    await expect(writeDeviceKeyPairs(dir, ["d-1", "d-2"])).rejects.toMatchObject({
      code: "ERR_IO_EXISTS",
      details: { path: join(dir, "d-2.pub.pem") },
    });
    expect(() => statSync(join(dir, "d-1.key.pem"))).toThrow();
    expect(readFileSync(join(dir, "d-2.pub.pem"), "utf8")).toBe("keep me");

    writeFileSync(join(dir, "keys.csv"), "old");
    await expect(
      writeDeviceKeyPairs(dir, ["d-3"], { csvPath: join(dir, "keys.csv") }),
    ).rejects.toMatchObject({ code: "ERR_IO_EXISTS" });
    expect(() => statSync(join(dir, "d-3.key.pem"))).toThrow();
  });
});

describe("key files", () => {
  it("report a missing file with ERR_JWT_KEY_FILE and a bad one with ERR_JWT_KEY, naming the path", async () => {
    const dir = tempDir();
    await expect(readDevicePrivateKeyFile(join(dir, "none.pem"))).rejects.toMatchObject({
      code: "ERR_JWT_KEY_FILE",
      message: expect.stringContaining("none.pem"),
    });
    writeFileSync(join(dir, "pub.pem"), generateDeviceKeyPair().publicKeyPem);
    await expect(readDevicePrivateKeyFile(join(dir, "pub.pem"))).rejects.toMatchObject({
      code: "ERR_JWT_KEY",
      details: { path: join(dir, "pub.pem") },
    });
  });
});

describe("mint batch files", () => {
  it("parse deviceId,keyPath lines relative to the file's directory, skipping blank lines", () => {
    const rows = parseMintBatch("a-1,keys/a.pem\r\n\n b-2 , /abs/b.pem \n", "/base");
    expect(rows).toEqual([
      { deviceId: "a-1", keyPath: "/base/keys/a.pem", line: 1 },
      { deviceId: "b-2", keyPath: "/abs/b.pem", line: 3 },
    ]);
  });

  it("name the line of a malformed row", () => {
    for (const [text, line] of [
      ["a,k.pem\nno-comma\n", 2],
      [",k.pem", 1],
      ["a,", 1],
      ["ok,k\nbad id,k", 2],
    ] as const) {
      const error = jwtErrorOf(() => parseMintBatch(text, "/base", "b.csv"));
      expect(error.code).toBe("ERR_JWT_BATCH");
      expect(error.details.line).toBe(line);
      expect(error.message).toContain(`b.csv line ${line}`);
    }
  });

  it("mint one verifiable token per row, reading each key once", async () => {
    const dir = tempDir();
    const [a, b] = await writeDeviceKeyPairs(join(dir, "keys"), ["a", "b"]);
    const batchPath = join(dir, "batch.csv");
    writeFileSync(batchPath, "a,keys/a.key.pem\nb,keys/b.key.pem\nshared,keys/a.key.pem\n");
    const minted = [];
    for await (const row of mintBatch(await readMintBatchFile(batchPath), {
      lifetimeSeconds: 60,
    })) {
      minted.push(row);
      // Row 3 reuses a's key: it must come from the signer made for row 1, not from disk.
      if (row.deviceId === "a") unlinkSync(a?.privateKeyPath ?? "");
    }
    expect(minted.map((m) => m.deviceId)).toEqual(["a", "b", "shared"]);
    const keyFor = [a, b, a];
    for (const [i, { deviceId, token }] of minted.entries()) {
      const publicKey = keyFor[i]?.publicKeyPem ?? "";
      const { claims } = await verifyDeviceJwt(token, { publicKey, deviceId });
      expect(claims.exp - claims.iat).toBe(60);
    }
  });
});
