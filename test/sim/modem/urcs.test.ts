import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readIdentity, withOfflineMode, writeCredential } from "../../../src/modem/index.js";
import { zephyrTimestamp } from "../../../src/sim/modem/urcs.js";
import { runCliCaptured } from "../../cli/harness.js";
import { createTestCa, passphrase, removeDir, tempDir } from "../../pipeline/fixtures.js";
import { amazonRootCa, connectAtToSimModem } from "../../sim-link.js";
import { connectSim } from "./helpers.js";

const logLine = /^\[\d{2}:\d{2}:\d{2}\.\d{3},\d{3}\] <inf> asset_tracker: /;

describe("URCs and log lines around AT+CFUN (transcript_2021_nrf9160dk_windows_edited.txt)", () => {
  it("cfun (the default): leaving the network prints six lines before OK, in the transcript's shape", async () => {
    const { reader } = connectSim({ urcs: "cfun" });
    const lines = await reader.send("AT+CFUN=4");
    expect(lines).toEqual([
      "+CSCON: 1",
      expect.stringMatching(logLine),
      "+CEREG: 0",
      expect.stringMatching(logLine),
      "+CSCON: 0",
      expect.stringMatching(logLine),
      "OK",
    ]);
    expect(lines[1]).toMatch(/RRC mode: Connected$/);
    expect(lines[5]).toMatch(/RRC mode: Idle$/);
    // Already offline: nothing changes, nothing is printed.
    expect(await reader.send("AT+CFUN=4")).toEqual(["OK"]);
  });

  it("going online registers after OK (+CEREG: 2, then 1)", async () => {
    const { reader } = connectSim({ urcs: "cfun", functionalMode: 4 });
    expect(await reader.send("AT+CFUN=1")).toEqual(["OK"]);
    await reader.until(() => /\+CEREG: 1,/.test(reader.pending));
    expect(reader.pending).toMatch(/^\+CEREG: 2,[^\r]*\r\n\+CSCON: 1\r\n\[/);
  });

  it("none prints nothing; chatty adds a line before every answer", async () => {
    expect(await connectSim({ urcs: "none" }).reader.send("AT+CFUN=4")).toEqual(["OK"]);
    const { reader, modem } = connectSim({ urcs: "chatty" });
    expect(await reader.send("AT+CGSN")).toEqual(["%CESQ: 54,2,16,2", modem.imei, "OK"]);
    const second = await reader.send("AT+CGMR");
    expect(second[0]).toMatch(logLine);
    expect(second.slice(1)).toEqual(["mfw_nrf9160_1.3.5", "OK"]);
  });

  it("formats Zephyr's uptime stamp", () => {
    expect(zephyrTimestamp(28_460_540)).toBe("[00:00:28.460,540]");
    expect(zephyrTimestamp(3_723_004_005)).toBe("[01:02:03.004,005]");
  });
});

describe("sim modem --help", () => {
  it("offers --urcs none|cfun|chatty (default cfun) and the shell's --no-lf-unescape", async () => {
    const { out: wrapped } = await runCliCaptured(["sim", "modem", "--help"]);
    const out = wrapped.replace(/\s+/g, " ");
    expect(out).toMatch(/--urcs <level> .*\(choices: "none", "cfun", "chatty", default: "cfun"\)/);
    expect(out).toContain("--no-lf-unescape");
    expect(out).toContain("--no-reserved-credentials");
  });
});

describe("the AT client with a chatty board", () => {
  it("keeps every URC and log line out of the answers and hands them to the URC stream", async () => {
    const { at, modem } = await connectAtToSimModem({ urcs: "chatty" });
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    const identity = await readIdentity(at);
    expect(identity).toMatchObject({ imei: modem.imei, firmware: "mfw_nrf9160_1.3.5" });
    const root = await withOfflineMode(at, () =>
      writeCredential(at, { secTag: 42, type: 0, content: amazonRootCa }),
    );
    expect(root.verification).toBe("hash");
    expect(urcs).toEqual(
      expect.arrayContaining(["%CESQ: 54,2,16,2", "+CSCON: 1", "+CEREG: 0", "+CSCON: 0"]),
    );
    expect(urcs.some((line) => logLine.test(line))).toBe(true);
    await at.close();
  });
});

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = fileURLToPath(new URL("../../../bin/nrf-provision.js", import.meta.url));

describe("the built CLI: provision against `sim modem --urcs chatty`", () => {
  let dir: string;
  let caDir: string;
  beforeAll(async () => {
    dir = await tempDir();
    ({ caDir } = await createTestCa(dir));
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("succeeds, and `provision --verbose` / `modem info --verbose` show the URCs on stderr only", async () => {
    const sim = spawn(process.execPath, [bin, "sim", "modem", "--urcs", "chatty", "--json"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => sim.once("exit", resolve));
    try {
      let out = "";
      sim.stdout.on("data", (chunk) => {
        out += String(chunk);
      });
      while (!out.trim().endsWith("}")) {
        if (sim.exitCode !== null) throw new Error(`sim modem exited early: ${sim.exitCode}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const { port, imei } = JSON.parse(out);
      const run = promisify(execFile);
      const env = { ...process.env, NRF_PROVISION_CA_PASSPHRASE: passphrase };
      const provision = await run(
        process.execPath,
        [
          bin,
          "provision",
          "--port",
          port,
          "--ca-dir",
          caDir,
          "--onboard",
          "none",
          "--verbose",
          "--json",
        ],
        { cwd: root, env },
      );
      const report = JSON.parse(provision.stdout);
      expect(report.ok).toBe(true);
      expect(provision.stdout).not.toMatch(/CESQ|CSCON|asset_tracker/);
      // --verbose logs the traffic, URCs included, on stderr, each line after the port.
      expect(provision.stderr).toContain(`${port} << %CESQ: 54,2,16,2`);
      const info = await run(
        process.execPath,
        [bin, "modem", "info", "--port", port, "--verbose", "--json"],
        {
          cwd: root,
          env,
        },
      );
      expect(JSON.parse(info.stdout)).toMatchObject({ imei });
      expect(info.stdout).not.toMatch(/CESQ|asset_tracker/);
      expect(info.stderr).toMatch(/^<< %CESQ: 54,2,16,2$/m);
      expect(info.stderr).toMatch(/^<< \[\d\d:\d\d:\d\d\.\d{3},\d{3}\] <inf> asset_tracker: /m);
    } finally {
      sim.kill("SIGINT");
      expect(await exited).toBe(0);
    }
  });
});
