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
  log?: (line: string) => void;
  /** Keep the temporary directory (CA, ledger) instead of deleting it. */
  keep?: boolean;
  /** Force the in-memory link even when socat is there (tests of the fallback). */
  transport?: "auto" | "memory";
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
  const log = options.log ?? (() => {});
  const started = Date.now();
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
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
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  }
}

async function startSimulatedBoard(
  transport: "auto" | "memory",
  cleanup: Array<() => Promise<unknown>>,
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
