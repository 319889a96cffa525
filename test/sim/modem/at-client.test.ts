import { createHash } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { describe, expect, it } from "vitest";
import { type AtClient, openAtClient } from "../../../src/at/index.js";
import {
  assertKeygenTrusted,
  parseKeygenOutput,
  verifyAttestation,
} from "../../../src/attest/index.js";
import { openSerialTransport } from "../../../src/serial/index.js";
import {
  type SimModem,
  type SimModemOptions,
  socatAvailable,
  startSimModemOnPty,
} from "../../../src/sim/modem/index.js";
import { amazonRootCa as amazonRootCa1, connectAtToSimModem } from "../../sim-link.js";
import { opensslVerifiesCsr } from "./helpers.js";

const hasSocat = await socatAvailable();

/** The provisioning sequence of nrf91-at.md §8 through the project's real AT client. */
async function provisionSequence(at: AtClient, modem: SimModem): Promise<void> {
  expect((await at.send("AT+CGSN")).lines).toEqual([modem.imei]);
  expect((await at.send("AT+CFUN?")).lines).toEqual(["+CFUN: 1"]);
  await expect(at.send("AT%KEYGEN=16842753,2,0")).rejects.toMatchObject({ code: "ERR_AT_CME" });
  await at.send("AT+CFUN=4");
  await expect(at.send("AT%CMNG=3,16842753,0")).rejects.toMatchObject({ code: "ERR_AT_CME" });
  const keygen = await at.send("AT%KEYGEN=16842753,2,0");
  const out = parseKeygenOutput(keygen.lines.join("\n"));
  assertKeygenTrusted(out, { secTag: 16842753 });
  expect(out.deviceUuid).toBe(modem.deviceUuid);
  expect(verifyAttestation(out, modem.identityPublicKeyPem)).toBe(true);
  expect(opensslVerifiesCsr(out.pem)).toBe(true);
  await at.send(`AT%CMNG=0,16842753,0,"${amazonRootCa1}"`);
  // Shell firmware stores each line break as CR LF (nrf91-at.md §9); AT mode stores the bytes sent.
  const stored = at.mode === "shell" ? amazonRootCa1.replaceAll("\n", "\r\n") : amazonRootCa1;
  const sha256 = createHash("sha256").update(stored).digest("hex").toUpperCase();
  if (at.mode === "at") {
    expect(sha256).toBe("2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1");
  }
  const list = await at.send("AT%CMNG=1,16842753");
  expect(list.lines).toEqual([
    `%CMNG: 16842753,0,"${sha256}"`,
    expect.stringMatching(/^%CMNG: 16842753,2,"[0-9A-F]{64}"$/),
  ]);
  const read = await at.send("AT%CMNG=2,16842753,0");
  expect(read.lines).toEqual([`%CMNG: 16842753,0,"${sha256}","${stored}"`]);
  await at.send("AT+CFUN=1");
  expect(modem.functionalMode).toBe(1);
}

describe("the project's AT client against the simulated modem", () => {
  it.each<[string, SimModemOptions]>([
    ["AT mode, CRLF", {}],
    ["AT mode, CR firmware", { terminator: "\r" }],
    ["shell mode", { shellMode: true, functionalMode: 1 }],
    ["with URC noise and latency", { noise: { intervalMs: 3 }, latencyMs: 2 }],
  ])("in memory: %s", async (_label, options) => {
    const { at, modem } = await connectAtToSimModem(options);
    expect(at.mode).toBe(options.shellMode ? "shell" : "at");
    await provisionSequence(at, modem);
    await at.close();
  });

  it("fails the command in flight when the simulated board drops the link", async () => {
    const { at } = await connectAtToSimModem({ faults: { dropAfterBytes: 200 } }, { mode: "at" });
    await expect(at.send(`AT%CMNG=0,1,0,"${"A".repeat(300)}"`)).rejects.toMatchObject({
      code: "ERR_AT_DISCONNECTED",
    });
  });

  it.skipIf(!hasSocat)("over a socat pseudo-terminal opened with serialport", async () => {
    const sim = await startSimModemOnPty({ latencyMs: 1 });
    try {
      const at = await openAtClient(await openSerialTransport(sim.path, { rtscts: false }));
      expect(at.mode).toBe("at");
      await provisionSequence(at, sim.modem);
      await at.close();
    } finally {
      await sim.close();
    }
  });
});

describe.skipIf(!hasSocat)("startSimModemOnPty", () => {
  it("a dropped link (fault) reaches the host as a disconnect, like an unplugged board", async () => {
    const sim = await startSimModemOnPty({ faults: { dropAfterBytes: 120 } });
    try {
      const at = await openAtClient(await openSerialTransport(sim.path, { rtscts: false }), {
        mode: "at",
      });
      await expect(at.send(`AT%CMNG=0,1,0,"${"A".repeat(200)}"`)).rejects.toMatchObject({
        code: "ERR_AT_DISCONNECTED",
      });
    } finally {
      await sim.close();
    }
  });

  it("serves AT on the user end with the real serialport package; two sims side by side differ", async () => {
    const [a, b] = await Promise.all([startSimModemOnPty(), startSimModemOnPty()]);
    try {
      expect(a.path).not.toBe(b.path);
      expect(a.modem.imei).not.toBe(b.modem.imei);
      expect(a.modem.deviceUuid).not.toBe(b.modem.deviceUuid);
      for (const sim of [a, b]) {
        const port = new SerialPort({ path: sim.path, baudRate: 115200, autoOpen: false });
        await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
        let received = "";
        port.on("data", (chunk: Buffer) => {
          received += chunk.toString();
        });
        port.write("AT+CGSN\r\n");
        await new Promise<void>((resolve) => {
          const check = setInterval(() => {
            if (received.endsWith("OK\r\n")) {
              clearInterval(check);
              resolve();
            }
          }, 5);
        });
        expect(received).toBe(`${sim.modem.imei}\r\nOK\r\n`);
        await new Promise((resolve) => port.close(resolve));
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("uses the given link path and removes it on close", async () => {
    const linkPath = join(mkdtempSync(join(tmpdir(), "nrfp-link-")), "ttySIM0");
    const sim = await startSimModemOnPty({ linkPath });
    expect(sim.path).toBe(linkPath);
    expect(existsSync(linkPath)).toBe(true);
    await sim.close();
    await sim.close(); // idempotent
    expect(existsSync(linkPath)).toBe(false);
  });
});
