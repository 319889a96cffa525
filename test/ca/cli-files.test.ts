import { lstat, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLedger } from "../../src/ca/index.js";
import { runCliCaptured } from "../cli/harness.js";
import { vectorPath } from "../vectors.js";
import { modemLikeCsr } from "./csr-factory.js";
import { PASSPHRASE, tempDir } from "./helpers.js";

// Issue 11 items 7 and 9: `ca issue` never writes over a file or through a link, never
// replaces a CA file, and reads adversarial PEM input in linear time.

/** `ca issue` on the CA in `./ca`, with `args`. */
const issueArgs = (...args: string[]) => ["ca", "issue", "--dir", "ca", ...args];

describe("ca issue outputs", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    expect((await cli(["ca", "init", "--dir", "ca"])).code).toBe(0);
  });
  afterEach(() => cleanup());

  const cli = (argv: string[]) =>
    runCliCaptured(argv, { env: { NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE }, cwd: dir });
  const csr = vectorPath("fixture_host_csr_cn_example-id.pem");
  const issued = async () => (await readLedger(join(dir, "ca", "ledger.jsonl"))).entries.length;

  it("--out refuses an existing file before issuing, and replaces it only with --force", async () => {
    await writeFile(join(dir, "device.pem"), "keep me");
    const refused = await cli(issueArgs("--csr", csr, "--out", "device.pem"));
    expect(refused.code).toBe(4);
    expect(refused.err).toMatch(
      /^error: Refusing to overwrite .*device\.pem.*\[ERR_IO_EXISTS\]\n$/,
    );
    expect(await readFile(join(dir, "device.pem"), "utf8")).toBe("keep me");
    expect(await issued()).toBe(0);
    const forced = await cli(issueArgs("--csr", csr, "--out", "device.pem", "--force"));
    expect(forced.code, forced.err).toBe(0);
    expect(await readFile(join(dir, "device.pem"), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("--out into a missing folder is refused before issuing", async () => {
    const result = await cli(issueArgs("--csr", csr, "--out", "nowhere/d.pem"));
    expect(result.code).toBe(4);
    expect(result.err).toMatch(/The folder .*nowhere does not exist.*\[ERR_IO_NOT_A_DIRECTORY\]/);
    expect(await issued()).toBe(0);
  });

  it("--out never replaces a CA file, with or without --force", async () => {
    const key = await readFile(join(dir, "ca", "ca.key.pem"), "utf8");
    for (const target of ["ca/ca.key.pem", "ca/ca.pem", "ca/ledger.jsonl"]) {
      for (const force of [[], ["--force"]]) {
        const result = await cli(issueArgs("--csr", csr, "--out", target, ...force));
        expect(result.code, `${target} ${force}`).toBe(4);
        expect(result.err).toMatch(/\[ERR_IO_(PROTECTED|EXISTS)\]/);
      }
    }
    expect(await readFile(join(dir, "ca", "ca.key.pem"), "utf8")).toBe(key);
    expect(await issued()).toBe(0);
    expect((await cli(["ca", "show", "--dir", "ca"])).code).toBe(0);
  });

  it("--out never writes through a symbolic link", async () => {
    await writeFile(join(dir, "victim.txt"), "victim");
    await symlink(join(dir, "victim.txt"), join(dir, "out.pem"));
    for (const force of [[], ["--force"]]) {
      const result = await cli(issueArgs("--csr", csr, "--out", "out.pem", ...force));
      expect(result.code).toBe(4);
      expect(result.err).toMatch(/symbolic link.*\[ERR_IO_SYMLINK\]/);
    }
    expect(await readFile(join(dir, "victim.txt"), "utf8")).toBe("victim");
    expect((await lstat(join(dir, "out.pem"))).isSymbolicLink()).toBe(true);
  });

  it("--out-dir refuses a planted CSV link before issuing", async () => {
    await mkdir(join(dir, "out"));
    await writeFile(join(dir, "victim.txt"), "victim");
    await symlink(join(dir, "victim.txt"), join(dir, "out", "register-certificates.csv"));
    const inputs = [0, 1].map(async (i) => {
      const file = join(dir, `d${i}.pem`);
      await writeFile(file, modemLikeCsr(`nrf-35265610000000${i}`).pem);
      return file;
    });
    const files = await Promise.all(inputs);
    const result = await cli(issueArgs("--csr", ...files, "--out-dir", "out"));
    expect(result.code).toBe(4);
    expect(result.err).toMatch(/register-certificates\.csv.*\[ERR_IO_SYMLINK\]/);
    expect(await readFile(join(dir, "victim.txt"), "utf8")).toBe("victim");
    expect(await issued()).toBe(0);
  });

  it("--out-dir with a planted <id>.pem link: nothing written through it; says what was issued and written", async () => {
    await mkdir(join(dir, "out"));
    await writeFile(join(dir, "victim.txt"), "victim");
    await symlink(join(dir, "victim.txt"), join(dir, "out", "nrf-352656100000001.pem"));
    const files: string[] = [];
    for (const i of [0, 1]) {
      const file = join(dir, `d${i}.pem`);
      await writeFile(file, modemLikeCsr(`nrf-35265610000000${i}`).pem);
      files.push(file);
    }
    const result = await cli(issueArgs("--csr", ...files, "--out-dir", "out", "--json"));
    expect(result.code).toBe(4);
    const { error } = JSON.parse(result.out);
    expect(error.code).toBe("ERR_IO_SYMLINK");
    expect(error.message).toMatch(
      /2 certificates were issued and recorded in the ledger .*ledger\.jsonl; 1 output file was written/,
    );
    expect(error.message).toContain("ca ledger --dir");
    expect(error.details.issued.map((c: { deviceId: string }) => c.deviceId).sort()).toEqual([
      "nrf-352656100000000",
      "nrf-352656100000001",
    ]);
    expect(error.details.written).toEqual([join(dir, "out", "nrf-352656100000000.pem")]);
    expect(await readFile(join(dir, "victim.txt"), "utf8")).toBe("victim");
    expect(await issued()).toBe(2);
    expect((await readdir(join(dir, "out"))).sort()).toEqual([
      "nrf-352656100000000.pem",
      "nrf-352656100000001.pem",
    ]);
  });

  it("a second batch into the same --out-dir is refused instead of replacing the CSV", async () => {
    const file = join(dir, "d.pem");
    await writeFile(file, modemLikeCsr("nrf-352656100000007").pem);
    const first = await cli(issueArgs("--csr", file, file, "--out-dir", "out"));
    expect(first.code, first.err).toBe(0);
    const csv = await readFile(join(dir, "out", "register-certificates.csv"), "utf8");
    const second = await cli(issueArgs("--csr", file, file, "--out-dir", "out"));
    expect(second.code).toBe(4);
    expect(second.err).toMatch(/\[ERR_IO_EXISTS\]/);
    expect(await readFile(join(dir, "out", "register-certificates.csv"), "utf8")).toBe(csv);
    expect(await issued()).toBe(2);
  });
});

describe("ca issue PEM input (ReDoS)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());
  const cli = (argv: string[]) =>
    runCliCaptured(argv, { env: { NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE }, cwd: dir });

  it("4 MB of BEGIN lines is read in one pass and reported as holding no CSR", async () => {
    expect((await cli(["ca", "init", "--dir", "ca"])).code).toBe(0);
    const line = "-----BEGIN CERTIFICATE REQUEST-----\n";
    await writeFile(join(dir, "evil.pem"), line.repeat(Math.ceil((4 << 20) / line.length)));
    const result = await cli(issueArgs("--csr", "evil.pem"));
    expect(result.code).toBe(4);
    expect(result.err).toMatch(
      /evil\.pem holds no PEM certificate request\. \[ERR_CSR_MALFORMED\]/,
    );
    // A real CSR after the junk is still found.
    const csr = await readFile(vectorPath("fixture_host_csr_cn_example-id.pem"), "utf8");
    await writeFile(join(dir, "mixed.pem"), line.repeat(100_000) + csr);
    const mixed = await cli(issueArgs("--csr", "mixed.pem"));
    expect(mixed.code, mixed.err).toBe(0);
    expect(mixed.out).toMatch(/^-----BEGIN CERTIFICATE-----/);
  }, 30_000);

  it("an input file above the size cap is refused with a clear error", async () => {
    expect((await cli(["ca", "init", "--dir", "ca"])).code).toBe(0);
    await writeFile(join(dir, "huge.txt"), Buffer.alloc(65 * 1024 * 1024, 0x41));
    const result = await cli(issueArgs("--keygen-file", "huge.txt"));
    expect(result.code).toBe(2); // an input file's problem: a usage error
    expect(result.err).toMatch(/huge\.txt is larger than 64 MiB.*split it.*\[ERR_IO_TOO_LARGE\]/);
  }, 30_000);
});

describe("ca issue --workers", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("is capped at the number of cores, with a warning", async () => {
    const cli = (argv: string[]) =>
      runCliCaptured(argv, { env: { NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE }, cwd: dir });
    expect((await cli(["ca", "init", "--dir", "ca"])).code).toBe(0);
    const file = join(dir, "d.pem");
    await writeFile(file, modemLikeCsr("nrf-352656100000003").pem);
    const cores = availableParallelism();
    const result = await cli(
      issueArgs("--csr", file, file, "--out-dir", "out", "--workers", "100000"),
    );
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain(
      `warning: --workers 100000 is more than the ${cores} cores of this machine; using ${cores}.`,
    );
  });
});
