import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { runDemo, splitCsvRecords } from "../../src/pipeline/index.js";
import { captureIo, type PtyBoard, usePipelineBench } from "./fixtures.js";

describe("nrf-provision provision / demo (in-process CLI)", () => {
  const bench = usePipelineBench();
  // The first two tests share board 0: the second finds its sec tag used by the first.
  let boards: PtyBoard[];
  beforeAll(async () => {
    boards = await bench.startBoards(2);
  });

  it("provision --json onboards one board and reports every step", async () => {
    const { caDir, cloud, dir, env } = bench;
    const board = boards[0]!;
    const { io, out } = captureIo(env, dir);
    const code = await runCli(
      ["provision", "--port", board.path, "--ca-dir", caDir, "--device-id", "imei", "--json"],
      io,
    );
    expect(code).toBe(0);
    const report = JSON.parse(out());
    expect(report.ok).toBe(true);
    expect(report.deviceId).toBe(`nrf-${board.modem.imei}`);
    expect(report.onboarding).toEqual({ mode: "single", status: "onboarded" });
    expect(cloud.devices.has(report.deviceId)).toBe(true);
    expect(report.steps.filter((s: { status: string }) => s.status === "done")).toHaveLength(11);
  });

  it("provision --json on a used sec tag: exit 3, the failed step and the timings", async () => {
    const { caDir, dir, env } = bench;
    const board = boards[0]!;
    const { io, out, err } = captureIo(env, dir);
    const code = await runCli(
      ["provision", "--port", board.path, "--ca-dir", caDir, "--onboard", "none", "--json"],
      io,
    );
    expect(code).toBe(3);
    const report = JSON.parse(out());
    expect(report.error.code).toBe("ERR_PROVISION_SEC_TAG_IN_USE");
    expect(report.error.details.step).toBe("inventory");
    expect(report.steps.map((s: { step: string }) => s.step)).toContain("restore-mode");
    expect(err()).toContain(board.path);
  });

  it("provision --onboard csv:FILE appends a row and refuses a duplicate unless --replace", async () => {
    const { caDir, dir, env } = bench;
    const board = boards[1]!;
    const csv = join(dir, "onboard.csv");
    const args = ["provision", "--port", board.path, "--ca-dir", caDir, "--onboard", `csv:${csv}`];
    const first = captureIo(env, dir);
    expect(await runCli(args, first.io)).toBe(0);
    expect(first.out()).toContain(`row appended in ${csv}`);
    // Firmware types default to APP|MODEM, as Nordic's tool writes them (FOTA needs them).
    expect(splitCsvRecords(await readFile(csv, "utf8"))[0]).toMatch(
      new RegExp(`^${board.modem.deviceUuid},,,APP\\|MODEM,"-----BEGIN CERTIFICATE-----\\n`),
    );
    const again = captureIo(env, dir);
    expect(await runCli([...args, "--replace", "--fw-types", ""], again.io)).toBe(0);
    const rows = splitCsvRecords(await readFile(csv, "utf8"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(
      new RegExp(`^${board.modem.deviceUuid},,,,"-----BEGIN CERTIFICATE-----\\n`),
    );
    const certificate = board.modem.credentials().find((c) => c.type === 1)?.content;
    expect(rows[0]).toContain(certificate);
  });

  it("demo --verbose tells each step once, as it happens, then the report without the times", async () => {
    const { io, out } = captureIo({}, bench.dir);
    expect(await runCli(["demo", "--verbose"], io)).toBe(0);
    const text = out();
    for (const step of [
      "connect",
      "identity",
      "keygen",
      "issue",
      "write-certificate",
      "verify",
      "onboard",
    ]) {
      // Each step's time appears once (it used to be told live and again in the summary).
      expect(text.match(new RegExp(`\\b${step}\\b +\\d+ ms`, "g")), step).toHaveLength(1);
    }
    expect(text).not.toMatch(/^ {2}steps /m);
    expect(text).toMatch(/simulated nRF91 on pseudo-terminal/);
    expect(text).toMatch(/RegisterPublicKeys/);
    expect(text).toMatch(/updated the device state with the JWT \(shadow version 1\)/);
    expect(text).toMatch(/^ {2}private key {3}present/m);
  });

  it("demo --json reports the pipeline and the JWT; the in-memory fallback says so", async () => {
    const { io, out } = captureIo({}, bench.dir);
    expect(await runCli(["demo", "--json"], io)).toBe(0);
    const report = JSON.parse(out());
    expect(report).toMatchObject({ ok: true, transport: "pty", kept: false });
    expect(report.provision.onboarding).toEqual({ mode: "single", status: "onboarded" });
    expect(report.jwt.shadowVersion).toBe(1);

    const lines: string[] = [];
    const memory = await runDemo({ transport: "memory", log: (line) => lines.push(line) });
    expect(memory.transport).toBe("memory");
    expect(lines[0]).toMatch(/in-memory link/);
    expect(memory.provision.credentials.certificate.verified).toBe(true);
  });
});
