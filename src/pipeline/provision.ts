import { createPublicKey, X509Certificate } from "node:crypto";
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AtClient } from "../at/index.js";
import { assertKeygenTrusted, type KeygenOutput } from "../attest/index.js";
// The CA's modules one by one, not its index: provisioning needs none of its batch code.
import type { CertificateAuthority } from "../ca/authority.js";
import { issueDeviceCertificate } from "../ca/issue.js";
import { ensureDirectory, refuseExisting, writeNewFile } from "../files/index.js";
import {
  checkFirmwareSupportsKeygen,
  credentialSha256,
  deleteCredential,
  getFunctionalMode,
  keygen,
  listCredentials,
  type ModemIdentity,
  OFFLINE_MODES,
  readIdentity,
  setFunctionalMode,
  writeCredential,
} from "../modem/index.js";
import { crashPoint } from "./crash-point.js";
import { type DeviceIdPolicy, deviceIdFor, keygenAttributesFor } from "./device-id.js";
import { ProvisionError } from "./errors.js";
import type { ProvisionJournal } from "./journal.js";
import { type OnboardingChoice, type OnboardingOutcome, onboardBoard } from "./onboarder.js";
import { defaultSecTag } from "./sec-tag.js";
import { type StepEvent, StepRunner, type StepTiming } from "./steps.js";

export { defaultSecTag };

/** `%CMNG` credential types of the nRF Cloud set in one sec tag. */
const credentialType = { rootCa: 0, certificate: 1, privateKey: 2 } as const;

/** A board to provision: its port name (for messages) and how to open an AT client on it. */
export interface BoardConnection {
  port: string;
  open(): Promise<AtClient>;
}

export interface ProvisionOptions extends OnboardingChoice {
  board: BoardConnection;
  ca: CertificateAuthority;
  deviceIdPolicy: DeviceIdPolicy;
  /** Root CA PEM(s) for type 0 (see loadRootCaBundle). */
  rootCaPem: string;
  secTag?: number;
  /** Delete credentials already in the sec tag instead of stopping. */
  replace?: boolean;
  certificateDays?: number;
  /**
   * The station CA's certificate(s), written after the device certificate in the client-cert
   * slot (type 1) so the modem can present the chain (`--cert-chain`); nRF Cloud still gets the
   * device certificate alone.
   */
  certificateChainPem?: string | undefined;
  /** Keeps `<deviceId>/csr.pem`, `certificate.pem` and `device.json` here. */
  saveDir?: string | undefined;
  /**
   * The station's journal. With it, a board left half-done by a crash is finished from where
   * it stopped instead of refused for its non-empty sec tag.
   */
  journal?: ProvisionJournal;
  clock?: () => number;
  onEvent?: (event: StepEvent) => void;
}

export interface ProvisionResult {
  port: string;
  deviceId: string;
  imei: string;
  deviceUuid: string;
  model: string;
  firmware: string;
  secTag: number;
  /** `provisioned`: keys made now; `resumed`: finished an interrupted run; `already-provisioned`. */
  outcome: "provisioned" | "resumed" | "already-provisioned";
  certificate: { serialNumber: string; sha256Fingerprint: string; pem: string };
  csrPem?: string | undefined;
  credentials: {
    rootCa: CredentialCheck;
    certificate: CredentialCheck;
    privateKey: { present: boolean };
  };
  functionalMode: { before: number; restored: boolean };
  onboarding: OnboardingOutcome;
  steps: StepTiming[];
  totalMs: number;
}

/** One credential as written and listed back: `verified` when the modem's hash equals ours. */
export interface CredentialCheck {
  sha256: string;
  written: boolean;
  verified: boolean;
}

/** The certificate a board ends up with; from the CA now, or from the journal/ledger on resume. */
interface DeviceCertificate {
  pem: string;
  serialNumber: string;
  sha256Fingerprint: string;
}

/** Everything the offline steps need, gathered once. */
interface BoardSession {
  at: AtClient;
  steps: StepRunner;
  options: ProvisionOptions;
  secTag: number;
  identity: ModemIdentity;
  deviceId: string;
}

/**
 * Provisions one board for nRF Cloud: identity, fresh key pair in the modem (KEYGEN), a
 * certificate from the local CA, root CA + certificate written and verified, onboarding.
 * The board is left in the functional mode it had, whatever happens.
 */
export async function provisionBoard(options: ProvisionOptions): Promise<ProvisionResult> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const secTag = options.secTag ?? defaultSecTag;
  const steps = new StepRunner({ port: options.board.port }, clock, options.onEvent);
  try {
    const at = await steps.run(
      "connect",
      () => options.board.open(),
      (at) => `${at.mode} mode`,
    );
    try {
      const { identity, deviceId } = await steps.run("identity", async () => {
        const identity = await readBoardIdentity(at);
        const deviceId = deviceIdFor(options.deviceIdPolicy, identity);
        Object.assign(steps.board, { imei: identity.imei, deviceId });
        await options.journal?.record({
          type: "identity",
          port: options.board.port,
          imei: identity.imei,
          deviceUuid: identity.deviceUuid,
          deviceId,
        });
        return { identity, deviceId };
      });
      const session: BoardSession = { at, steps, options, secTag, identity, deviceId };

      const modeBefore = await steps.run(
        "offline",
        () => goOffline(session),
        (mode) => `was ${mode}`,
      );
      const onModem = await restoringMode(session, modeBefore, () => putCredentials(session));

      const onboarding = await steps.run("onboard", () =>
        onboardBoard(options, deviceId, onModem.certificate.pem),
      );
      const result: ProvisionResult = {
        port: options.board.port,
        deviceId,
        imei: identity.imei,
        deviceUuid: identity.deviceUuid,
        model: identity.model,
        firmware: identity.firmware,
        secTag,
        ...onModem,
        functionalMode: { before: modeBefore, restored: true },
        onboarding,
        steps: steps.timings,
        totalMs: clock() - started,
      };
      if (options.saveDir !== undefined) {
        await saveDeviceFiles(options.saveDir, result, options.replace === true);
      }
      return result;
    } finally {
      await at.close().catch(() => {}); // an unplugged board's port is already gone
    }
  } catch (error) {
    // Only saving --save-dir files runs outside a step: it counts as the last step's failure.
    const failure = ProvisionError.wrap(
      steps.timings.at(-1)?.step ?? "connect",
      steps.board,
      error,
    );
    failure.timings = steps.timings;
    throw failure;
  }
}

async function readBoardIdentity(at: AtClient): Promise<ModemIdentity> {
  const identity = await readIdentity(at);
  checkFirmwareSupportsKeygen(identity.firmware);
  return identity;
}

/**
 * Goes offline for key work (unless already in an offline mode); returns the mode to restore.
 * A board a crashed station left offline gets back the mode the journal saw before that.
 */
async function goOffline(session: BoardSession): Promise<number> {
  const { at, options, deviceId } = session;
  const current = await getFunctionalMode(at);
  const modeBefore = options.journal?.recall(deviceId)?.modeToRestore ?? current;
  await options.journal?.record({ type: "offline", deviceId, modeBefore });
  if (!OFFLINE_MODES.includes(current)) await setFunctionalMode(at, 4);
  return modeBefore;
}

/**
 * Runs the offline work, then puts the board back in `modeBefore`. When the work failed, the
 * error says whether the mode could be restored (an unplugged board cannot be).
 */
async function restoringMode<T>(
  session: BoardSession,
  modeBefore: number,
  work: () => Promise<T>,
): Promise<T> {
  const { at, steps } = session;
  const restore = () =>
    steps.run("restore-mode", async () => {
      if (!OFFLINE_MODES.includes(modeBefore)) await setFunctionalMode(at, modeBefore);
      await session.options.journal?.record({ type: "mode-restored", deviceId: session.deviceId });
    });
  let result: T;
  try {
    result = await work();
  } catch (error) {
    const failure = ProvisionError.wrap(
      steps.timings.at(-1)?.step ?? "offline",
      steps.board,
      error,
    );
    const restored = await restore().then(
      () => true,
      () => false,
    );
    throw failure.withDetails(
      { functionalModeBefore: modeBefore, modeRestored: restored },
      restored || OFFLINE_MODES.includes(modeBefore)
        ? undefined
        : `its functional mode could not be set back to ${modeBefore}`,
    );
  }
  await restore();
  return result;
}

/** What the sec tag holds, as listed by `AT%CMNG=1,<tag>`. */
interface TagContents {
  /** Lowercase hex; undefined: absent; null: present, but the firmware lists no hash. */
  rootCaSha256: string | null | undefined;
  certificateSha256: string | null | undefined;
  hasPrivateKey: boolean;
  isEmpty: boolean;
}

/** What to do with the sec tag, decided from its contents, the journal and the CA ledger. */
type Plan =
  | { kind: "fresh"; deleteFirst: boolean }
  | {
      kind: "resume";
      tag: TagContents;
      csr: { pem: string; publicKeyPem: string };
      certificate: DeviceCertificate | undefined;
    }
  | { kind: "complete"; tag: TagContents; certificate: DeviceCertificate };

/** Steps 4–7: inventory, (delete), KEYGEN, issue, write root CA + certificate, verify. */
async function putCredentials(
  session: BoardSession,
): Promise<Pick<ProvisionResult, "outcome" | "certificate" | "csrPem" | "credentials">> {
  const { steps, options } = session;
  const plan = await steps.run(
    "inventory",
    () => planFromInventory(session),
    (plan) => plan.kind,
  );
  const { csrPem, certificate } = await certificateFor(session, plan);
  const onModem = plan.kind === "fresh" ? undefined : plan.tag;
  const rootCa = await writeUnlessPresent(session, "rootCa", options.rootCaPem, onModem);
  const deviceCertificate = await writeUnlessPresent(
    session,
    "certificate",
    clientCertificateContent(options, certificate),
    onModem,
  );
  const listed = await steps.run("verify", () =>
    verifyAndRecord(session, rootCa.sha256, deviceCertificate.sha256, certificate),
  );
  return {
    outcome: outcomeOf[plan.kind],
    certificate,
    csrPem,
    credentials: {
      rootCa: { ...rootCa, verified: listed.rootCaSha256 === rootCa.sha256 },
      certificate: {
        ...deviceCertificate,
        verified: listed.certificateSha256 === deviceCertificate.sha256,
      },
      privateKey: { present: listed.hasPrivateKey },
    },
  };
}

const outcomeOf = {
  fresh: "provisioned",
  resume: "resumed",
  complete: "already-provisioned",
} as const satisfies Record<Plan["kind"], ProvisionResult["outcome"]>;

/**
 * Steps 5–6 as the plan says: fresh keys and a certificate, the journal's CSR and (maybe) its
 * certificate, or the certificate already on the modem. `csrPem` is unknown in the last case.
 */
async function certificateFor(
  session: BoardSession,
  plan: Plan,
): Promise<{ csrPem: string | undefined; certificate: DeviceCertificate }> {
  const { steps } = session;
  if (plan.kind === "fresh") {
    if (plan.deleteFirst) {
      await steps.run("delete-credentials", () => deleteNrfCloudCredentials(session));
    }
    const keygenOutput = await steps.run("keygen", () => generateKey(session));
    const certificate = await steps.run("issue", () => issue(session, keygenOutput));
    return { csrPem: keygenOutput.pem, certificate };
  }
  if (plan.kind === "resume") {
    steps.skip("keygen", "key from the interrupted run kept (CSR in the journal)");
    const known = plan.certificate;
    if (known !== undefined) steps.skip("issue", "certificate from the interrupted run kept");
    const certificate = known ?? (await steps.run("issue", () => issue(session, plan.csr.pem)));
    return { csrPem: plan.csr.pem, certificate };
  }
  steps.skip("keygen", "board already provisioned");
  steps.skip("issue", "board already provisioned");
  return { csrPem: undefined, certificate: plan.certificate };
}

/** Step 7 (verify): the tag must list what was written; then the journal records the board done. */
async function verifyAndRecord(
  session: BoardSession,
  rootCaSha256: string,
  certificateSha256: string,
  certificate: DeviceCertificate,
): Promise<TagContents> {
  const { options } = session;
  const tag = await verifyTag(session, rootCaSha256, certificateSha256);
  await options.journal?.record({
    type: "provisioned",
    deviceId: session.deviceId,
    imei: session.identity.imei,
    port: options.board.port,
    secTag: session.secTag,
    sha256Fingerprint: certificate.sha256Fingerprint,
  });
  crashPoint("after-provisioned", [session.deviceId]);
  return tag;
}

/** What goes into the client-cert slot: the device certificate, then the chain when asked. */
function clientCertificateContent(
  options: Pick<ProvisionOptions, "certificateChainPem">,
  certificate: Pick<DeviceCertificate, "pem">,
): string {
  return certificate.pem + (options.certificateChainPem ?? "");
}

async function listTag(session: BoardSession): Promise<TagContents> {
  const listed = await listCredentials(session.at, { secTag: session.secTag });
  const hashOf = (type: number) => {
    const entry = listed.find((credential) => credential.type === type);
    return entry === undefined ? undefined : entry.sha256;
  };
  return {
    rootCaSha256: hashOf(credentialType.rootCa),
    certificateSha256: hashOf(credentialType.certificate),
    hasPrivateKey: listed.some((credential) => credential.type === credentialType.privateKey),
    isEmpty: listed.length === 0,
  };
}

/**
 * Step 4. An empty tag gets fresh keys. A tag holding credentials is refused (or cleared with
 * --replace), except when they are this pipeline's own work: the certificate on the modem is
 * one the CA issued to this device (nothing left but checks), or the journal holds the CSR
 * of the key on the modem (finish from there without re-keying).
 */
async function planFromInventory(session: BoardSession): Promise<Plan> {
  const { options, deviceId, secTag } = session;
  const tag = await listTag(session);
  if (tag.isEmpty) return { kind: "fresh", deleteFirst: false };

  const history = options.journal?.recall(deviceId);
  if (options.journal !== undefined && tag.hasPrivateKey) {
    const known = await knownCertificates(session, history?.certificate);
    const onModem = known.find(
      (cert) => credentialSha256(clientCertificateContent(options, cert)) === tag.certificateSha256,
    );
    if (onModem !== undefined) return { kind: "complete", tag, certificate: onModem };
    const csr = history?.keygen;
    if (csr !== undefined && csr.secTag === secTag && !history?.keygenInFlight) {
      const matching = known.find((cert) => samePublicKey(cert.pem, csr.publicKeyPem));
      return {
        kind: "resume",
        tag,
        csr: { pem: csr.csrPem, publicKeyPem: csr.publicKeyPem },
        certificate: matching,
      };
    }
  }
  // The journal shows this station sent KEYGEN to this device and never saw the answer: the
  // key is its own, no certificate exists for it, so making a new one is safe.
  if (options.replace === true || history?.keygenInFlight === true) {
    return { kind: "fresh", deleteFirst: true };
  }
  throw new ProvisionError(
    "inventory",
    session.steps.board,
    "ERR_PROVISION_SEC_TAG_IN_USE",
    `sec tag ${secTag} already holds credentials (${describeTag(tag)})`,
    {
      advice:
        "run again with --replace to delete them and make new keys, or pick another --sec-tag",
      details: { secTag },
    },
  );
}

function describeTag(tag: TagContents): string {
  const held = [
    tag.rootCaSha256 !== undefined ? "root CA" : undefined,
    tag.certificateSha256 !== undefined ? "client certificate" : undefined,
    tag.hasPrivateKey ? "private key" : undefined,
  ].filter((name) => name !== undefined);
  return held.length === 0 ? "other types" : held.join(", ");
}

/** Certificates this CA issued to the device: the journal's last one and the ledger's. */
async function knownCertificates(
  session: BoardSession,
  journaled: DeviceCertificate | undefined,
): Promise<DeviceCertificate[]> {
  const entries = await session.options.ca.ledger.find({ deviceId: session.deviceId });
  const fromLedger = entries.map((entry) => ({
    pem: entry.pem,
    serialNumber: entry.serialNumber,
    sha256Fingerprint: entry.sha256Fingerprint,
  }));
  return journaled === undefined ? fromLedger : [journaled, ...fromLedger];
}

async function deleteNrfCloudCredentials(session: BoardSession): Promise<void> {
  for (const type of [
    credentialType.rootCa,
    credentialType.certificate,
    credentialType.privateKey,
  ]) {
    await deleteCredential(session.at, { secTag: session.secTag, type, ignoreMissing: true });
  }
}

/** Step 5: a new key pair in the modem; the CSR must be trusted and carry the expected CN. */
async function generateKey(session: BoardSession): Promise<KeygenOutput> {
  const { at, secTag, deviceId, options } = session;
  await options.journal?.record({ type: "keygen-start", deviceId, secTag });
  const attributes = keygenAttributesFor(options.deviceIdPolicy, deviceId);
  const output = await keygen(at, {
    secTag,
    content: "csr",
    attributes,
  });
  assertKeygenTrusted(output, { secTag });
  const commonName = output.csr?.commonName ?? null;
  if (commonName !== deviceId) {
    throw new ProvisionError(
      "keygen",
      session.steps.board,
      "ERR_PROVISION_DEVICE_ID_MISMATCH",
      `the CSR's CN is "${commonName}" but --device-id ${describePolicy(options.deviceIdPolicy)} expects "${deviceId}"`,
      {
        advice:
          "check --device-id: `uuid` uses the modem's device UUID, `imei` uses nrf-<IMEI>; the device firmware must use the same ID",
        details: { commonName, expected: deviceId },
      },
    );
  }
  await options.journal?.record({
    type: "keygen-done",
    deviceId,
    secTag,
    csrPem: output.pem,
    publicKeyPem: output.publicKeyPem,
  });
  return output;
}

function describePolicy(policy: DeviceIdPolicy): string {
  return policy.kind === "imei" ? `imei (${policy.prefix}<IMEI>)` : policy.kind;
}

/** Step 6: the CA signs (and ledgers) the certificate; the journal keeps it before any write. */
async function issue(
  session: BoardSession,
  csr: KeygenOutput | string,
): Promise<DeviceCertificate> {
  const { options, deviceId } = session;
  const issued = await issueDeviceCertificate(options.ca, csr, {
    deviceId,
    days: options.certificateDays,
  });
  const certificate = {
    pem: issued.pem,
    serialNumber: issued.serialNumber,
    sha256Fingerprint: issued.sha256Fingerprint,
  };
  crashPoint("issued-before-journal", [deviceId]);
  await options.journal?.record({ type: "issued", deviceId, ...recordOf(certificate) });
  return certificate;
}

function recordOf(certificate: DeviceCertificate) {
  return {
    serialNumber: certificate.serialNumber,
    sha256Fingerprint: certificate.sha256Fingerprint,
    certificatePem: certificate.pem,
  };
}

/** The two credentials this pipeline writes: their step, CMNG type and hash in a tag listing. */
const writtenCredentials = {
  rootCa: {
    step: "write-root-ca",
    type: credentialType.rootCa,
    listedSha256: (tag: TagContents) => tag.rootCaSha256,
  },
  certificate: {
    step: "write-certificate",
    type: credentialType.certificate,
    listedSha256: (tag: TagContents) => tag.certificateSha256,
  },
} as const;

/** Step 7: writes one credential unless the modem already lists exactly these bytes. */
async function writeUnlessPresent(
  session: BoardSession,
  credential: keyof typeof writtenCredentials,
  content: string,
  onModem: TagContents | undefined,
): Promise<{ sha256: string; written: boolean }> {
  const { step, type, listedSha256 } = writtenCredentials[credential];
  const sha256 = credentialSha256(content);
  if (onModem !== undefined && listedSha256(onModem) === sha256) {
    session.steps.skip(step, "already on the modem (same SHA-256)");
    return { sha256, written: false };
  }
  await session.steps.run(step, () =>
    writeCredential(session.at, {
      secTag: session.secTag,
      type,
      content,
      verify: true,
      firmware: session.identity.firmware,
    }),
  );
  return { sha256, written: true };
}

/** Lists the tag and requires our root CA and certificate hashes and a private key. */
async function verifyTag(
  session: BoardSession,
  rootCaSha256: string,
  certificateSha256: string,
): Promise<TagContents> {
  const tag = await listTag(session);
  const problems = [
    mismatch("root CA", tag.rootCaSha256, rootCaSha256),
    mismatch("client certificate", tag.certificateSha256, certificateSha256),
    tag.hasPrivateKey ? undefined : "the private key is missing",
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) {
    throw new ProvisionError(
      "verify",
      session.steps.board,
      "ERR_PROVISION_VERIFY",
      `sec tag ${session.secTag} does not hold what was written: ${problems.join("; ")}`,
      { details: { secTag: session.secTag, problems } },
    );
  }
  return tag;
}

/** Firmware without list hashes (< 1.3.2) lists `null`: presence is all that can be checked. */
function mismatch(
  name: string,
  listed: string | null | undefined,
  expected: string,
): string | undefined {
  if (listed === undefined) return `the ${name} is missing`;
  if (listed !== null && listed !== expected) {
    return `the ${name}'s SHA-256 is ${listed}, expected ${expected}`;
  }
  return undefined;
}

/**
 * Never over another provisioning's files or through a link. The same certificate saved
 * again (a station rerun resuming the board) refreshes its own files; `--replace` (new keys)
 * replaces earlier ones.
 */
async function saveDeviceFiles(
  saveDir: string,
  result: ProvisionResult,
  replace: boolean,
): Promise<void> {
  const dir = join(saveDir, result.deviceId);
  const { steps: _steps, csrPem: _csr, ...summary } = result;
  const files: Array<[string, string]> = [
    ...(result.csrPem === undefined ? [] : [["csr.pem", result.csrPem] as [string, string]]),
    ["certificate.pem", result.certificate.pem],
    ["device.json", `${JSON.stringify(summary, null, 2)}\n`],
  ];
  await ensureDirectory(dir);
  const paths = files.map(([name]) => join(dir, name));
  const force = replace || (await savedCertificatePem(dir)) === result.certificate.pem;
  await refuseExisting(paths, { force });
  for (const [i, [, content]] of files.entries()) {
    await writeNewFile(paths[i]!, content, { force });
  }
}

/** The certificate an earlier save left in `dir` (a regular file only), if any. */
async function savedCertificatePem(dir: string): Promise<string | undefined> {
  const path = join(dir, "certificate.pem");
  const stats = await lstat(path).catch(() => undefined);
  if (!stats?.isFile()) return undefined;
  return readFile(path, "utf8").catch(() => undefined);
}

function samePublicKey(certificatePem: string, publicKeyPem: string): boolean {
  const der = (key: ReturnType<typeof createPublicKey>) =>
    key.export({ type: "spki", format: "der" });
  return der(new X509Certificate(certificatePem).publicKey).equals(
    der(createPublicKey(publicKeyPem)),
  );
}
