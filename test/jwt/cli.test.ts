import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { decodeDeviceJwt, mintDeviceJwt, readDevicePublicKeyFile } from "../../src/jwt/index.js";
import { runCliCaptured } from "../cli/harness.js";

const publicKeyPemPattern =
  /^-{5}BEGIN PUBLIC KEY-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END PUBLIC KEY-{5}(\r\n|\r|\n)$/;

/** Runs the CLI in-process with `cwd` (and `stdin` text) and returns exit code and output. */
async function cli(cwd: string, ...argv: string[]) {
  return cliWithStdin(cwd, "", ...argv);
}

async function cliWithStdin(cwd: string, stdinText: string, ...argv: string[]) {
  return runCliCaptured(argv, { cwd, env: {}, input: stdinText });
}

/** `jwt mint --key KEY --device ID …extra`, run in `cwd`. */
async function mint(cwd: string, key: string, deviceId: string, ...extra: string[]) {
  return cli(cwd, "jwt", "mint", "--key", key, "--device", deviceId, ...extra);
}

/** `jwt verify --token TOKEN …extra`, run in `cwd`. */
async function verifyToken(cwd: string, token: string, ...extra: string[]) {
  return cli(cwd, "jwt", "verify", "--token", token, ...extra);
}

const workDirs: string[] = [];
afterAll(() => {
  for (const dir of workDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh working directory for one test, removed after the file's tests. */
function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "nrfp-jwt-cli-"));
  workDirs.push(dir);
  return dir;
}

/** A device key pair on disk, made by the CLI itself. */
async function keygen(cwd: string, deviceId: string) {
  const result = await cli(cwd, "jwt", "keygen", "--device", deviceId, "--out-dir", "keys");
  expect(result.code).toBe(0);
  return { key: join("keys", `${deviceId}.key.pem`), pub: join("keys", `${deviceId}.pub.pem`) };
}

describe("jwt keygen", () => {
  it("writes one device's key pair (private key 0600) and refuses to overwrite it", async () => {
    const cwd = workDir();
    const first = await cli(cwd, "jwt", "keygen", "--device", "dev-1", "--out-dir", "keys");
    expect(first.code).toBe(0);
    expect(first.out).toContain(join(cwd, "keys", "dev-1.key.pem"));
    expect(statSync(join(cwd, "keys", "dev-1.key.pem")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(cwd, "keys", "dev-1.pub.pem"), "utf8")).toMatch(publicKeyPemPattern);
    const before = readFileSync(join(cwd, "keys", "dev-1.key.pem"), "utf8");

    const again = await cli(cwd, "jwt", "keygen", "--device", "dev-1", "--out-dir", "keys");
    expect(again.code).toBe(4);
    expect(again.err).toMatch(/Refusing to overwrite .*dev-1\.key\.pem.*\[ERR_IO_EXISTS\]/);
    expect(readFileSync(join(cwd, "keys", "dev-1.key.pem"), "utf8")).toBe(before);
  });

  it("writes many numbered test devices and a RegisterPublicKeys CSV that openssl can read back", async () => {
    const cwd = workDir();
    const result = await cli(
      cwd,
      ...["jwt", "keygen", "--count", "12", "--prefix", "load-", "--out-dir", "keys"],
      ...["--csv", "public-keys.csv", "--json"],
    );
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as {
      devices: Array<{ deviceId: string; privateKeyPath: string; publicKeyPath: string }>;
      csvPath: string;
    };
    expect(report.devices.map((d) => d.deviceId)).toEqual(
      Array.from({ length: 12 }, (_, i) => `load-${String(i + 1).padStart(2, "0")}`),
    );
    const csv = readFileSync(join(cwd, "public-keys.csv"), "utf8");
    expect(report.csvPath).toBe(join(cwd, "public-keys.csv"));
    const rows = [...csv.matchAll(/([^,\n]+),"([^"]*)"\n/g)];
    expect(rows.map((m) => m[0]).join("")).toBe(csv);
    expect(rows).toHaveLength(12);
    rows.forEach((row, i) => {
      const device = report.devices[i];
      expect(row[1]).toBe(device?.deviceId);
      expect(row[2]).toMatch(publicKeyPemPattern);
      expect(row[2]).toBe(readFileSync(device?.publicKeyPath ?? "", "utf8"));
      const derived = execFileSync(
        "openssl",
        ["pkey", "-in", device?.privateKeyPath ?? "", "-pubout"],
        {
          encoding: "utf8",
        },
      );
      expect(derived).toBe(row[2]);
    });
  });

  it("needs --device, or --count with --prefix (usage error, exit 2)", async () => {
    const cwd = workDir();
    expect((await cli(cwd, "jwt", "keygen", "--out-dir", "k")).code).toBe(2);
    expect((await cli(cwd, "jwt", "keygen", "--count", "3", "--out-dir", "k")).code).toBe(2);
    expect(
      (await cli(cwd, "jwt", "keygen", "--count", "0", "--prefix", "p", "--out-dir", "k")).code,
    ).toBe(2);
    const both = await cli(cwd, "jwt", "keygen", "--device", "a", "--count", "2", "--out-dir", "k");
    expect(both.code).toBe(2);
    expect(both.err).toContain("cannot be used with");
  });
});

describe("jwt mint", () => {
  it("prints a token that jose verifies with the device's public key", async () => {
    const cwd = workDir();
    const { key, pub } = await keygen(cwd, "dev-1");
    const result = await mint(cwd, key, "dev-1", "--lifetime", "900");
    expect(result.code).toBe(0);
    const token = result.out.trim();
    const publicKey = await readDevicePublicKeyFile(join(cwd, pub));
    const { payload, protectedHeader } = await jwtVerify(token, publicKey, { subject: "dev-1" });
    expect(protectedHeader).toEqual({ alg: "ES256", typ: "JWT" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  it("--kid --json prints {token, header, claims} with the firmware kid", async () => {
    const cwd = workDir();
    const { key, pub } = await keygen(cwd, "dev-2");
    const result = await mint(cwd, key, "dev-2", "--kid", "--json");
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.out) as { token: string; header: unknown; claims: unknown };
    expect(printed.header).toEqual({
      alg: "ES256",
      typ: "JWT",
      kid: execFileSync(
        "sh",
        [
          "-c",
          `openssl pkey -pubin -in '${join(cwd, pub)}' -outform DER | openssl dgst -sha256 -r`,
        ],
        {
          encoding: "utf8",
        },
      ).split(" ")[0],
    });
    expect(decodeDeviceJwt(printed.token)).toEqual({
      header: printed.header,
      claims: printed.claims,
    });
  });

  it("--batch prints one JSON line {deviceId, token} per row, key paths relative to the CSV", async () => {
    const cwd = workDir();
    await cli(cwd, "jwt", "keygen", "--count", "3", "--prefix", "b", "--out-dir", "batch/keys");
    writeFileSync(
      join(cwd, "batch", "rows.csv"),
      "b1,keys/b1.key.pem\nb2,keys/b2.key.pem\nb3,keys/b3.key.pem\n",
    );
    const result = await cli(cwd, "jwt", "mint", "--batch", "batch/rows.csv", "--lifetime", "60");
    expect(result.code).toBe(0);
    const lines = result.out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { deviceId: string; token: string });
    expect(lines.map((l) => l.deviceId)).toEqual(["b1", "b2", "b3"]);
    for (const { deviceId, token } of lines) {
      const publicKey = await readDevicePublicKeyFile(
        join(cwd, "batch", "keys", `${deviceId}.pub.pem`),
      );
      await expect(jwtVerify(token, publicKey, { subject: deviceId })).resolves.toBeTruthy();
    }
  });

  it("refuses a lifetime over 7 days and a malformed batch line", async () => {
    const cwd = workDir();
    const { key } = await keygen(cwd, "dev-3");
    const long = await mint(cwd, key, "dev-3", "--lifetime", "604801");
    expect(long.code).toBe(2);
    expect(long.err).toContain("--lifetime must be at most 604800");
    writeFileSync(join(cwd, "bad.csv"), `dev-3,${key}\njust-an-id\n`);
    const bad = await cli(cwd, "jwt", "mint", "--batch", "bad.csv");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.csv line 2: .*\[ERR_JWT_BATCH\]/);
    const missing = await cli(cwd, "jwt", "mint", "--device", "dev-3");
    expect(missing.code).toBe(2);
  });
});

describe("jwt verify", () => {
  it("accepts a valid token with --key or --cert and reports the device", async () => {
    const cwd = workDir();
    const { key, pub } = await keygen(cwd, "dev-4");
    execFileSync(
      "openssl",
      ["req", "-x509", "-new", "-key", key, "-subj", "/CN=dev-4", "-days", "1", "-out", "cert.pem"],
      { cwd },
    );
    const token = (await mint(cwd, key, "dev-4")).out.trim();
    const withKey = await verifyToken(cwd, token, "--key", pub, "--device", "dev-4");
    expect(withKey.code).toBe(0);
    expect(withKey.out).toMatch(/^valid: ES256 token for device dev-4, expires \d{4}-/);
    const withCert = await verifyToken(cwd, token, "--cert", "cert.pem", "--json");
    expect(withCert.code).toBe(0);
    expect(JSON.parse(withCert.out)).toMatchObject({ valid: true, claims: { sub: "dev-4" } });
  });

  it("exits 1 with the reason for a wrong key, a wrong device, an expired or an alg-none token", async () => {
    const cwd = workDir();
    const { key, pub } = await keygen(cwd, "dev-5");
    const { pub: otherPub } = await keygen(cwd, "dev-6");
    const token = (await mint(cwd, key, "dev-5")).out.trim();
    const expired = mintDeviceJwt({
      privateKey: readFileSync(join(cwd, key), "utf8"),
      deviceId: "dev-5",
      issuedAt: Math.floor(Date.now() / 1000) - 3600,
    });
    const [, payload] = token.split(".");
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
    const cases: Array<[string[], string]> = [
      [["--token", token, "--key", otherPub], "ERR_JWT_SIGNATURE"],
      [["--token", token, "--key", pub, "--device", "dev-6"], "ERR_JWT_SUBJECT"],
      [["--token", expired, "--key", pub], "ERR_JWT_EXPIRED"],
      [["--token", none, "--key", pub], "ERR_JWT_ALG"],
      [["--token", "garbage", "--key", pub], "ERR_JWT_MALFORMED"],
    ];
    for (const [args, code] of cases) {
      const result = await cli(cwd, "jwt", "verify", ...args);
      expect(result.code, code).toBe(1);
      expect(result.err).toMatch(new RegExp(`^error: .+ \\[${code}\\]\\n$`));
    }
    const json = await verifyToken(cwd, expired, "--key", pub, "--json");
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, error: { code: "ERR_JWT_EXPIRED" } });
    // A key file that is not there is a usage error naming the option and the file.
    const missing = await cli(cwd, "jwt", "verify", "--token", token, "--key", "no-such.pem");
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^error: cannot read --key no-such\.pem: .+ \[ERR_INPUT_FILE\]\n$/);
  });

  it("reads the token from stdin with --token -", async () => {
    const cwd = workDir();
    const { key, pub } = await keygen(cwd, "dev-8");
    const minted = (await mint(cwd, key, "dev-8")).out;
    const result = await cliWithStdin(cwd, minted, "jwt", "verify", "--token", "-", "--key", pub);
    expect(result.code).toBe(0);
    expect(result.out).toContain("valid: ES256 token for device dev-8");
  });

  it("needs exactly one of --key and --cert", async () => {
    const cwd = workDir();
    expect((await cli(cwd, "jwt", "verify", "--token", "t")).code).toBe(2);
    expect(
      (await cli(cwd, "jwt", "verify", "--token", "t", "--key", "a", "--cert", "b")).code,
    ).toBe(2);
  });
});

describe("jwt decode", () => {
  it("prints header and claims without verifying, and refuses a non-JWT", async () => {
    const cwd = workDir();
    const { key } = await keygen(cwd, "dev-7");
    const token = (await mint(cwd, key, "dev-7", "--kid")).out.trim();
    const decoded = await cli(cwd, "jwt", "decode", "--token", token);
    expect(decoded.code).toBe(0);
    expect(JSON.parse(decoded.out)).toEqual(decodeDeviceJwt(token));
    expect(JSON.parse(decoded.out).claims.sub).toBe("dev-7");
    const bad = await cli(cwd, "jwt", "decode", "--token", "a.b");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("ERR_JWT_MALFORMED");
  });
});
