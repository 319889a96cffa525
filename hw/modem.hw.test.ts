import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCliCaptured } from "../test/cli/harness.js";

// Runs only with a real board attached: NRF_PROVISION_HW_PORT=/dev/ttyACM0 (see hw/README.md).
const port = process.env.NRF_PROVISION_HW_PORT;
const spareSecTag = process.env.NRF_PROVISION_HW_SEC_TAG ?? "16842999";
const mode = process.env.NRF_PROVISION_HW_MODE;
const extraArgs = [
  ...(process.env.NRF_PROVISION_HW_ARGS ?? "").split(/\s+/).filter(Boolean),
  ...(mode ? ["--mode", mode] : []),
];
const amazonRootCaPath = new URL("../assets/AmazonRootCA1.pem", import.meta.url).pathname;

async function run(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { code, out, err } = await runCliCaptured([...argv, "--port", port!, ...extraArgs]);
  return { exitCode: code, stdout: out, stderr: err };
}

/** Deletes the key in the spare sec tag (if any): before KEYGEN there, and to leave the board clean. */
function deleteSpareKey() {
  return run([
    "modem",
    "creds",
    "delete",
    "--sec-tag",
    spareSecTag,
    "--type",
    "client-key",
    "--ignore-missing",
  ]);
}

describe.skipIf(!port)("real modem", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await deleteSpareKey();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("reads the identity", async () => {
    const result = await run(["modem", "info", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.imei).toMatch(/^\d{15}$/);
    expect(info.model).toMatch(/^nRF91/i);
    expect(info.deviceUuid).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(info.firmwareVersion).not.toBeNull();
    expect(Number.isInteger(info.functionalMode)).toBe(true);
  });

  it("lists the modem's own entries in the reserved sec tags only with --all", async () => {
    const all = JSON.parse((await run(["modem", "creds", "list", "--all", "--json"])).stdout);
    const reserved = all.filter((entry: { secTag: number }) => entry.secTag > 2147483647);
    expect(reserved.length).toBeGreaterThan(0);
    const plain = JSON.parse((await run(["modem", "creds", "list", "--json"])).stdout);
    expect(plain.filter((entry: { secTag: number }) => entry.secTag > 2147483647)).toEqual([]);
  });

  it("writes a test credential (CR LF in shell mode) and verifies the listed hash", async () => {
    const pem = await readFile(amazonRootCaPath, "utf8");
    const write = await run([
      "modem",
      "creds",
      "write",
      "--sec-tag",
      spareSecTag,
      "--type",
      "root-ca",
      "--file",
      amazonRootCaPath,
      "--json",
    ]);
    try {
      expect(write.exitCode, write.stderr).toBe(0);
      const result = JSON.parse(write.stdout);
      const stored = mode === "shell" ? pem.replaceAll("\n", "\r\n") : pem;
      if (mode !== undefined) {
        expect(result.sha256).toBe(createHash("sha256").update(stored).digest("hex"));
      }
      if (result.verification !== "presence") expect(result.verification).toBe("hash");
    } finally {
      await run([
        "modem",
        "creds",
        "delete",
        "--sec-tag",
        spareSecTag,
        "--type",
        "root-ca",
        "--ignore-missing",
      ]);
    }
  });

  it("generates a CSR in the spare sec tag and restores the functional mode", async () => {
    const before = JSON.parse((await run(["modem", "info", "--json"])).stdout);
    const deleted = await deleteSpareKey();
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    const outDir = await mkdtemp(join(tmpdir(), "nrf-provision-hw-"));
    dirs.push(outDir);
    const result = await run([
      "modem",
      "keygen",
      "--sec-tag",
      spareSecTag,
      "--out-dir",
      outDir,
      "--json",
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    const keygen = JSON.parse(result.stdout);
    expect(keygen.kind).toBe("csr");
    expect(keygen.secTag).toBe(Number(spareSecTag));
    expect(keygen.digestStatus).toBe("match");
    expect(keygen.csr.signatureValid).toBe(true);
    expect(keygen.deviceUuid).toBe(before.deviceUuid);
    expect(await readFile(keygen.files[0], "utf8")).toBe(keygen.pem);
    const listed = JSON.parse(
      (await run(["modem", "creds", "list", "--sec-tag", spareSecTag, "--json"])).stdout,
    );
    expect(listed).toContainEqual(expect.objectContaining({ type: 2, typeName: "client-key" }));
    const after = JSON.parse((await run(["modem", "info", "--json"])).stdout);
    expect(after.functionalMode).toBe(before.functionalMode);
  });
});
