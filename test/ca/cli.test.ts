import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLedger } from "../../src/ca/index.js";
import { runChild } from "../cli/child.js";
import { runCliCaptured } from "../cli/harness.js";
import { readVector, vectorPath } from "../vectors.js";
import { modemLikeCsr } from "./csr-factory.js";
import { opensslVerifyFile, PASSPHRASE, tempDir } from "./helpers.js";

/**
 * Splits RegisterCertificates CSV into rows and checks that the rows are all of it, each of the
 * form nrf-cloud-api §4 requires: deviceId, the quoted PEM ending in a line break, LF row end.
 */
function csvRows(csv: string): Array<{ deviceId: string; pem: string }> {
  const row =
    /([a-z0-9:_-]{1,128}),"(-----BEGIN CERTIFICATE-----\n[^-]+\n-----END CERTIFICATE-----\n)"\n/giy;
  const rows = [...csv.matchAll(row)].map((m) => ({ deviceId: m[1]!, pem: m[2]! }));
  expect(rows.map((r) => `${r.deviceId},"${r.pem}"\n`).join("")).toBe(csv);
  return rows;
}

describe("nrf-provision ca", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  async function cli(
    argv: string[],
    env: Record<string, string> = { NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE },
  ) {
    return runCliCaptured(argv, { env, cwd: dir });
  }

  it("init, show, issue, ledger: the whole round trip", async () => {
    const init = await cli([
      "ca",
      "init",
      "--dir",
      "ca",
      "--cn",
      "Line 3 CA",
      "--org",
      "Acme",
      "--country",
      "NO",
    ]);
    expect(init).toMatchObject({ code: 0, err: "" });
    expect(init.out).toContain('Created CA "C=NO, O=Acme, CN=Line 3 CA"');
    expect(init.out).not.toContain("PRIVATE KEY");
    expect(init.out).not.toContain(PASSPHRASE);

    const issue = await cli([
      "ca",
      "issue",
      "--dir",
      "ca",
      "--csr",
      vectorPath("keygen_csr_sectag17_expected_csr_original.pem"),
    ]);
    expect(issue.code).toBe(0);
    expect(issue.out).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    await writeFile(join(dir, "device.pem"), issue.out);
    expect(await opensslVerifyFile(join(dir, "ca", "ca.pem"), join(dir, "device.pem"))).toContain(
      "OK",
    );

    const keygen = await cli([
      "ca",
      "issue",
      "--dir",
      "ca",
      "--keygen",
      readVector("keygen_csr_sectag17_uuid50363154.txt").trim(),
      "--out",
      "k.pem",
      "--json",
    ]);
    expect(keygen.code).toBe(0);
    const json = JSON.parse(keygen.out);
    expect(json.certificate.deviceId).toBe("50363154-3931-44f0-8022-121b6401627d");
    expect(await readFile(join(dir, "k.pem"), "utf8")).toBe(json.certificate.pem);

    const show = await cli(["ca", "show", "--dir", "ca", "--json"]);
    expect(JSON.parse(show.out).ca).toMatchObject({
      subject: "C=NO, O=Acme, CN=Line 3 CA",
      issued: 2,
    });
    const showText = await cli(["ca", "show", "--dir", "ca"]);
    expect(showText.out).toMatch(/issued\s+2 certificates/);

    const csv = await cli([
      "ca",
      "ledger",
      "--dir",
      "ca",
      "--device",
      "50363154-3931-44f0-8022-121b6401627d",
      "--csv",
    ]);
    const rows = csvRows(csv.out);
    expect(rows.map((r) => r.deviceId)).toEqual(
      Array(2).fill("50363154-3931-44f0-8022-121b6401627d"),
    );
    const list = await cli(["ca", "ledger", "--dir", "ca", "--json"]);
    expect(JSON.parse(list.out).count).toBe(2);
  });

  it("refuses to run without a passphrase when there is no terminal, naming the variable", async () => {
    const result = await cli(["ca", "init", "--dir", "ca"], {});
    expect(result.code).toBe(4);
    expect(result.err).toContain("NRF_PROVISION_CA_PASSPHRASE");
    expect(result.err).toContain("ERR_CA_PASSPHRASE_REQUIRED");
    const empty = await cli(["ca", "init", "--dir", "ca"], { NRF_PROVISION_CA_PASSPHRASE: "" });
    expect(empty.code).toBe(4);
    expect(empty.err).toContain("is empty");
  });

  it("warns loudly with --insecure-no-passphrase and then works without a passphrase", async () => {
    const init = await cli(["ca", "init", "--dir", "ca", "--insecure-no-passphrase"], {});
    expect(init.code).toBe(0);
    expect(init.err).toMatch(/^WARNING: .*UNENCRYPTED/);
    const issue = await cli(
      ["ca", "issue", "--dir", "ca", "--csr", vectorPath("fixture_host_csr_cn_example-id.pem")],
      {},
    );
    expect(issue.code).toBe(0);
  });

  it("reports a wrong passphrase, an existing CA and a missing CA with exit code 4", async () => {
    await cli(["ca", "init", "--dir", "ca"]);
    const again = await cli(["ca", "init", "--dir", "ca"]);
    expect(again).toMatchObject({ code: 4 });
    expect(again.err).toContain("ERR_CA_EXISTS");
    const wrong = await cli(
      ["ca", "issue", "--dir", "ca", "--csr", vectorPath("fixture_host_csr_cn_example-id.pem")],
      { NRF_PROVISION_CA_PASSPHRASE: "nope" },
    );
    expect(wrong.code).toBe(4);
    expect(wrong.err).toMatch(/^error: Wrong passphrase .* \[ERR_CA_PASSPHRASE\]\n$/);
    const missing = await cli(["ca", "show", "--dir", "elsewhere", "--json"]);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.out).error.code).toBe("ERR_CA_NOT_FOUND");
  });

  it("issues a batch into --out-dir with worker threads: PEM files and RegisterCertificates CSV", async () => {
    await cli(["ca", "init", "--dir", "ca"]);
    await mkdir(join(dir, "csrs"));
    const files: string[] = [];
    for (let i = 0; i < 150; i++) {
      const file = join(dir, "csrs", `d${i}.pem`);
      await writeFile(file, modemLikeCsr(`nrf-35265610036${String(i).padStart(4, "0")}`).pem);
      files.push(file);
    }
    const bad = join(dir, "csrs", "bad.pem");
    await writeFile(bad, modemLikeCsr("bad id").pem);
    const keygenFile = join(dir, "keygen.txt");
    await writeFile(
      keygenFile,
      `${readVector("keygen_csr_sectag17_uuid50363154.txt").trim()}\n\n${readVector("serial_keygen_response_sectag52_uuid50363953.txt")}`,
    );

    // The built CLI in a child process: its batch starts the built worker, as a user's does.
    const result = await runChild(
      [
        "ca",
        "issue",
        "--dir",
        "ca",
        "--csr",
        ...files,
        bad,
        "--keygen-file",
        keygenFile,
        "--out-dir",
        "out",
        "--workers",
        "2",
        "--json",
      ],
      { cwd: dir, env: { NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE } },
    );
    expect(result.code).toBe(4); // one input failed
    const summary = JSON.parse(result.out);
    expect(summary).toMatchObject({ ok: false, issued: 152, failed: 1 });
    expect(summary.failures[0]).toMatchObject({ input: bad, code: "ERR_CSR_DEVICE_ID" });
    const written = await readdir(join(dir, "out"));
    expect(written).toContain("register-certificates.csv");
    expect(written.filter((f) => f.endsWith(".pem"))).toHaveLength(152);
    const csv = await readFile(join(dir, "out", "register-certificates.csv"), "utf8");
    expect(csvRows(csv)).toHaveLength(152);
    const sample = join(dir, "out", "nrf-352656100360042.pem");
    expect(await opensslVerifyFile(join(dir, "ca", "ca.pem"), sample)).toContain("OK");
    const ledger = await readLedger(join(dir, "ca", "ledger.jsonl"));
    expect(ledger.entries).toHaveLength(152);
    expect((await stat(join(dir, "ca", "ca.key.pem"))).mode & 0o777).toBe(0o600);
  }, 60_000);

  it("rejects several inputs without --out-dir as a usage error", async () => {
    await cli(["ca", "init", "--dir", "ca"]);
    const pem = vectorPath("fixture_host_csr_cn_example-id.pem");
    const result = await cli(["ca", "issue", "--dir", "ca", "--csr", pem, pem]);
    expect(result.code).toBe(2);
    expect(result.err).toContain("--out-dir");
  });
});
