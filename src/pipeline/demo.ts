import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAtClient } from "../at/index.js";
import { initCa, loadCa } from "../ca/index.js";
import { createCloudClient } from "../cloud/index.js";
import { generateDeviceKeyPair, mintDeviceJwt } from "../jwt/index.js";
import { createMemoryTransportPair, openSerialTransport } from "../serial/index.js";
import { parseDeviceIdPolicy } from "./device-id.js";
import { onboardEachDevice } from "./onboarding.js";
import { type BoardConnection, type ProvisionResult, provisionBoard } from "./provision.js";
import { loadRootCaBundle } from "./root-ca.js";

export interface DemoOptions {
  /** Where each step is told as it happens (one line each). */
  log?: ((line: string) => void) | undefined;
  /** Keep the temporary directory (CA, ledger) instead of deleting it. */
  keep?: boolean;
  /** Force the in-memory link even when socat is there (tests of the fallback). */
  transport?: "auto" | "memory";
  /**
   * Stops the demo (Ctrl-C): its simulators and temporary files are removed, and it rejects
   * with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface DemoReport {
  transport: "pty" | "memory";
  port: string;
  cloudBaseUrl: string;
  workDir: string;
  kept: boolean;
  provision: ProvisionResult;
  jwt: { deviceId: string; bulkOpsRequestId: string; token: string; shadowVersion: number };
  wallMs: number;
}

/**
 * The whole job with nothing attached and no network: a simulated nRF91 (on a pseudo-terminal
 * when socat exists), a simulated nRF Cloud on 127.0.0.1, a throwaway CA; then the real
 * provisioning pipeline, and a device JWT from a software key registered with
 * RegisterPublicKeys, used to update the device's state. Everything is cleaned up after.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  let stopped = false;
  const log = (line: string) => {
    if (!stopped) options.log?.(line); // steps still settling after an interruption are not told
  };
  const cleanup = new Cleanup();
  const work = demoSteps(options, log, cleanup);
  const { signal } = options;
  let onAbort: (() => void) | undefined;
  try {
    if (signal === undefined) return await work;
    work.catch(() => {}); // what fails once the simulators are gone is no news
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        stopped = true;
        reject(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    await cleanup.run();
  }
}

/**
 * What to undo at the end, last first. Once it has run (the demo was interrupted while a step
 * was still starting something), whatever is added later is undone at once.
 */
class Cleanup {
  private readonly steps: Array<() => Promise<unknown>> = [];
  private done = false;

  push(step: () => Promise<unknown>): void {
    if (this.done) void step().catch(() => {});
    else this.steps.push(step);
  }

  async run(): Promise<void> {
    this.done = true;
    for (const step of this.steps.splice(0).reverse()) await step().catch(() => {});
  }
}

async function demoSteps(
  options: DemoOptions,
  log: (line: string) => void,
  cleanup: Cleanup,
): Promise<DemoReport> {
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), "nrf-provision-demo-"));
  if (!options.keep) cleanup.push(() => rm(workDir, { recursive: true, force: true }));

  const { board, transport } = await startSimulatedBoard(options.transport ?? "auto", cleanup);
  if (transport === "pty") log(`simulated nRF91 on pseudo-terminal ${board.port}`);
  else if (options.transport === "memory") log("simulated nRF91 on an in-memory link");
  else {
    log(
      "socat not found: simulated nRF91 on an in-memory link (install socat for a real pseudo-terminal)",
    );
  }

  // The simulators (and jose, which the simulated cloud verifies JWTs with) load only here.
  const { startSimCloud } = await import("../sim/cloud/index.js");
  const sim = await startSimCloud({ port: 0, bulkDelayMs: 100 });
  cleanup.push(() => sim.close());
  log(`simulated nRF Cloud at ${sim.baseUrl}`);
  const cloud = createCloudClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey });

  // A passphrase nobody will ever need again: the CA lives only as long as the demo.
  const passphrase = randomBytes(24).toString("base64url");
  const caDir = join(workDir, "ca");
  await initCa({ dir: caDir, passphrase, commonName: "nrf-provision demo CA" });
  const ca = await loadCa({ dir: caDir, passphrase });
  cleanup.push(() => ca.close());
  log(`throwaway CA in ${caDir}`);

  const provision = await provisionBoard({
    board,
    ca,
    deviceIdPolicy: parseDeviceIdPolicy("uuid"),
    rootCaPem: await loadRootCaBundle(),
    onboarder: onboardEachDevice(cloud),
    onEvent: (event) => {
      if (event.type !== "step-end") return;
      const { step, ms, status, note } = event.timing;
      log(
        `  ${step.padEnd(18)} ${status === "done" ? `${ms} ms` : status}${note ? `  (${note})` : ""}`,
      );
    },
  });
  log(
    `provisioned ${provision.deviceId} (IMEI ${provision.imei}): certificate serial ${provision.certificate.serialNumber}, onboarded on the simulated nRF Cloud`,
  );

  const jwt = await updateStateWithDeviceJwt(cloud, provision.deviceId, log);
  log(`done in ${Date.now() - started} ms`);
  return {
    transport,
    port: board.port,
    cloudBaseUrl: sim.baseUrl,
    workDir,
    kept: options.keep === true,
    provision,
    jwt,
    wallMs: Date.now() - started,
  };
}

async function startSimulatedBoard(
  transport: "auto" | "memory",
  cleanup: Cleanup,
): Promise<{ board: BoardConnection; transport: "pty" | "memory" }> {
  const { SimModem, socatAvailable, startSimModemOnPty } = await import("../sim/modem/index.js");
  if (transport === "auto" && (await socatAvailable())) {
    const sim = await startSimModemOnPty({});
    cleanup.push(() => sim.close());
    return {
      transport: "pty",
      board: {
        port: sim.path,
        open: async () => openAtClient(await openSerialTransport(sim.path)),
      },
    };
  }
  const modem = new SimModem({});
  return {
    transport: "memory",
    board: {
      port: "memory:sim-nrf91",
      open: async () => {
        const [host, device] = createMemoryTransportPair(["memory:sim-nrf91", "memory:modem"]);
        modem.attach(device);
        return openAtClient(host);
      },
    },
  };
}

/** A software key pair for the device, registered (bulk), a JWT from it, a state update. */
async function updateStateWithDeviceJwt(
  cloud: ReturnType<typeof createCloudClient>,
  deviceId: string,
  log: (line: string) => void,
): Promise<DemoReport["jwt"]> {
  const keys = generateDeviceKeyPair();
  const upload = await cloud.registerPublicKeys([{ deviceId, publicKey: keys.publicKeyPem }]);
  await cloud.waitForBulkUpload(upload, { pollIntervalMs: 50, throwOnFailure: true });
  const bulkOpsRequestId = upload.chunks[0]?.bulkOpsRequestId ?? "";
  log(`registered a software public key for ${deviceId} (RegisterPublicKeys ${bulkOpsRequestId})`);
  const token = mintDeviceJwt({ privateKey: keys.privateKeyPem, deviceId });
  log(`minted a device JWT (ES256, sub ${deviceId})`);
  await cloud.updateDeviceState({
    deviceId,
    state: { reported: { provisionedBy: "nrf-provision demo" } },
    jwt: token,
  });
  const device = await cloud.fetchDevice({ deviceId });
  const shadowVersion = Number(
    (device as { state?: { version?: unknown } }).state?.version ?? Number.NaN,
  );
  log(`updated the device state with the JWT (shadow version ${shadowVersion})`);
  return { deviceId, bulkOpsRequestId, token, shadowVersion };
}

/** The first line of the demo's output, printed before it starts. */
export const demoHeadline =
  "nrf-provision demo: the real pipeline against a simulated nRF91 and nRF Cloud";

/**
 * The demo's report in a few lines, none wider than `width` (80): what ran where, the board's
 * result, each step's time once, and the device JWT. `--verbose` tells every step as it happens.
 */
export function formatDemoSummary(report: DemoReport, width = 80): string[] {
  const { provision, jwt } = report;
  const field = (name: string, value: string) => `  ${name.padEnd(12)} ${value}`;
  const verified = (check: ProvisionResult["credentials"]["rootCa"]) =>
    check.verified ? "verified" : "NOT verified";
  const pty = report.transport === "pty";
  return [
    field(
      "board",
      `simulated ${provision.model} on ${pty ? "a pseudo-terminal" : "an in-memory link"}`,
    ),
    ...(pty ? [field("port", report.port)] : []),
    field("nRF Cloud", `simulated, ${report.cloudBaseUrl}`),
    field("CA", report.kept ? `throwaway, kept in ${report.workDir}` : "throwaway (removed)"),
    `provisioned ${provision.deviceId} in ${provision.totalMs} ms`,
    field("IMEI", provision.imei),
    field("key", "P-256, made in the modem (AT%KEYGEN); CSR and attestation checked"),
    field("certificate", `serial ${provision.certificate.serialNumber}`),
    field(
      "written",
      `root CA ${verified(provision.credentials.rootCa)}, certificate ${verified(provision.credentials.certificate)} (SHA-256)`,
    ),
    field("onboarding", describeOnboardingOutcome(provision)),
    ...wrapList(
      "  steps (ms)   ",
      provision.steps.map((step) =>
        step.status === "skipped" ? `${step.step} skipped` : `${step.step} ${step.ms}`,
      ),
      width,
    ),
    "device JWT",
    field("key", `software P-256, RegisterPublicKeys ${jwt.bulkOpsRequestId}`),
    field("state", `updated with an ES256 device JWT (shadow version ${jwt.shadowVersion})`),
    `done in ${(report.wallMs / 1000).toFixed(1)} s (--verbose: each step as it happens)`,
  ];
}

function describeOnboardingOutcome(result: ProvisionResult): string {
  const { onboarding } = result;
  return onboarding.mode === "none" ? "none" : `${onboarding.status} (${onboarding.mode})`;
}

/** `items` joined by ", " after `prefix`, on as many lines as `width` needs, aligned. */
function wrapList(prefix: string, items: string[], width: number): string[] {
  const lines: string[] = [];
  let line = prefix;
  for (const [index, item] of items.entries()) {
    const text = index < items.length - 1 ? `${item},` : item;
    if (line.trim() !== prefix.trim() && line.length + 1 + text.length > width) {
      lines.push(line);
      line = " ".repeat(prefix.length);
    }
    line += line.endsWith(" ") ? text : ` ${text}`;
  }
  lines.push(line);
  return lines;
}
