import { type AtClient, AtError } from "../at/index.js";
import { assertKeygenTrusted, parseAttestationToken, parseKeygenOutput } from "../attest/index.js";
import { type CertificateAuthority, issueDeviceCertificate } from "../ca/index.js";
import { credentialSha256, listCredentials, readIdentity } from "../modem/index.js";
import { type DeviceIdPolicy, deviceIdFor } from "../pipeline/device-id.js";
import {
  type OnboardingChoice,
  type OnboardingOutcome,
  onboardBoard,
} from "../pipeline/onboarder.js";
import type { ProvisioningClient } from "./client.js";
import {
  DEFAULT_KEY_USAGE,
  keygenResponseText,
  type ProvisioningCommandRequest,
} from "./commands.js";
import { ProvisioningError } from "./errors.js";
import type { ClaimedDevice, ProvisioningCommand } from "./schemas.js";
import { isCommandPending } from "./wait.js";

// The bench's claim-and-provision path over nRF Cloud's Provisioning Service (reference §2.1,
// without utils' quirks §5.7): the device makes its key and runs the credential writes itself,
// this side checks the CSR like a local one, issues with the local CA and onboards.

/** The tag of nRF Cloud's auto-onboarding rule (reference §1.6). */
export const ONBOARDING_TAG = "nrf-cloud-onboarding";

/** A board reached over its serial port; `shellLine` writes a non-AT line to shell firmware. */
export interface RemoteBoard {
  port: string;
  open(): Promise<AtClient>;
  shellLine?(line: string): Promise<string>;
}

/** How the device is made to poll: its shell, `AT#PROVSTART`, or a person (reboot, button). */
export type RemoteTrigger = "auto" | "shell" | "at" | "manual";

export interface RemoteProvisionOptions extends OnboardingChoice {
  board: RemoteBoard;
  service: ProvisioningClient;
  /** The local CA; not needed on the auto-onboarding path. */
  ca?: CertificateAuthority | undefined;
  /** Root CA PEM(s) for the server-certificate command (and the onboarding rule). */
  rootCaPem: string;
  secTag: number;
  deviceIdPolicy: DeviceIdPolicy;
  /** Provisioning tags for the claim; `nrf-cloud-onboarding` selects auto-onboarding. */
  tags?: readonly string[] | undefined;
  /** Auto-onboarding: create the onboarding tag and rule when no rule carries the tag. */
  ensureRule?: boolean;
  trigger?: RemoteTrigger;
  /** Per wait for the device (default 5 min). */
  waitTimeoutMs?: number;
  pollIntervalMs?: number;
  certificateDays?: number;
  /** Progress, one line per step. */
  onStep?: ((step: string, detail: string) => void) | undefined;
}

export interface RemoteCommandOutcome {
  id: string;
  type: string;
  status: string;
}

export interface RemoteProvisionResult {
  port: string;
  path: "certificate" | "auto-onboarding";
  deviceUuid: string;
  imei: string;
  model: string;
  deviceId: string;
  secTag: number;
  claimed: ClaimedDevice;
  trigger: string;
  commands: RemoteCommandOutcome[];
  certificate?: { serialNumber: string; sha256Fingerprint: string; pem: string };
  /** The modem's own listing after provisioning (SHA-256 of root CA and certificate). */
  verified?: { rootCaSha256: string; certificateSha256: string };
  onboarding: OnboardingOutcome;
}

interface Run {
  options: RemoteProvisionOptions;
  identity: { imei: string; deviceUuid: string; model: string; firmware: string };
  mode: "at" | "shell";
  step: (step: string, detail: string) => void;
}

async function withBoard<T>(board: RemoteBoard, work: (at: AtClient) => Promise<T>): Promise<T> {
  const at = await board.open();
  try {
    return await work(at);
  } finally {
    await at.close().catch(() => {}); // an unplugged board's port is already gone
  }
}

/** Identity and attestation token; nRF9160 cannot be claimed by token (reference §5.13). */
async function readBoard(options: RemoteProvisionOptions) {
  return withBoard(options.board, async (at) => {
    const identity = await readIdentity(at);
    if (/nRF9160/i.test(identity.model)) {
      throw new ProvisioningError(
        "ERR_PROVISIONING_MODEL",
        `${options.board.port}: ${identity.model} cannot be claimed by attestation token (nRF91x1 with modem firmware ≥ 2.0 only); provision it locally with \`nrf-provision provision\``,
        { details: { port: options.board.port, model: identity.model } },
      );
    }
    const answer = await at.send("AT%ATTESTTOKEN", { responsePrefix: "%ATTESTTOKEN:" });
    const token = /"([^"]+)"/.exec(answer.lines.join("\n"))?.[1] ?? "";
    const parsed = parseAttestationToken(token);
    if (parsed.deviceUuid !== identity.deviceUuid.toLowerCase()) {
      throw new ProvisioningError(
        "ERR_PROVISIONING_RESPONSE",
        `${options.board.port}: the attestation token names device ${parsed.deviceUuid}, the modem ${identity.deviceUuid}`,
        { details: { port: options.board.port } },
      );
    }
    return { identity, token, mode: at.mode };
  });
}

/** Dry run first, then the claim; a refusal carries the service's reason. */
async function claim(run: Run, token: string): Promise<ClaimedDevice> {
  const { service, tags } = run.options;
  const check = await service.checkClaim(token);
  if (!check.claimable) {
    throw new ProvisioningError(
      "ERR_PROVISIONING_CLAIM_FAILED",
      `device ${run.identity.deviceUuid} (IMEI ${run.identity.imei}) cannot be claimed: ${check.message || `HTTP ${check.status}`}. A device claimed by another team must be unclaimed there first; one claimed by yours: \`DELETE /v1/claimed-devices/${run.identity.deviceUuid}\` deletes it from Device Management too.`,
      {
        details: {
          deviceUuid: run.identity.deviceUuid,
          imei: run.identity.imei,
          status: check.status,
        },
      },
    );
  }
  const claimed = await service.claimDevice({ claimToken: token, tags });
  run.step("claim", `claimed ${claimed.id}${tags?.length ? ` with tags ${tags.join(", ")}` : ""}`);
  return claimed;
}

/** Makes the device poll now (utils only does this for explicit shell mode: reference §5.8). */
async function triggerDevice(run: Run): Promise<string> {
  const { board, trigger = "auto" } = run.options;
  const how = trigger === "auto" ? (run.mode === "shell" ? "shell" : "at") : trigger;
  if (how === "manual") {
    run.step(
      "trigger",
      "waiting for the device to poll by itself: reboot it, or run `nrf_provisioning now` on its shell",
    );
    return how;
  }
  const refused = (why: string, cause?: unknown) =>
    new ProvisioningError(
      "ERR_PROVISIONING_TRIGGER",
      `${board.port}: could not make the device poll the Provisioning Service: ${why}. Use --trigger manual and reboot the device (firmware with CONFIG_NRF_PROVISIONING_AUTO_START_ON_INIT polls at boot), or --trigger at / shell to match the firmware.`,
      { cause, details: { port: board.port, trigger: how } },
    );
  if (how === "shell") {
    if (!board.shellLine) throw refused("no raw shell access to this board");
    const printed = await board.shellLine("nrf_provisioning now");
    if (/command not found/.test(printed))
      throw refused(
        "its shell has no `nrf_provisioning` command (built without CONFIG_NRF_PROVISIONING_SHELL)",
      );
    run.step("trigger", "sent `nrf_provisioning now` on the shell");
    return how;
  }
  await withBoard(board, (at) => at.send("AT#PROVSTART")).catch((error: unknown) => {
    if (error instanceof AtError)
      throw refused(
        "AT#PROVSTART was refused (firmware without CONFIG_NRF_PROVISIONING_CUSTOM_AT, or a session already runs)",
        error,
      );
    throw error;
  });
  run.step("trigger", "sent AT#PROVSTART");
  return how;
}

function commandFailed(run: Run, command: ProvisioningCommand, type: string): ProvisioningError {
  return new ProvisioningError(
    "ERR_PROVISIONING_COMMAND_FAILED",
    `device ${run.identity.deviceUuid}: the ${type} command ended ${command.status}${command.response ? `: ${JSON.stringify(command.response)}` : ""}; the service cancels the rest of the queue. Fix the cause, then run provision-remote again.`,
    {
      details: {
        deviceUuid: run.identity.deviceUuid,
        commandId: command.id,
        type,
        status: command.status ?? null,
      },
    },
  );
}

/** Waits for each command in turn; every one must end SUCCEEDED. */
async function waitForAll(run: Run, created: Array<{ id: string; type: string }>) {
  const outcomes: RemoteCommandOutcome[] = [];
  const done: ProvisioningCommand[] = [];
  for (const { id, type } of created) {
    const command = await run.options.service.waitForCommand(run.identity.deviceUuid, id, {
      timeoutMs: run.options.waitTimeoutMs,
      pollIntervalMs: run.options.pollIntervalMs,
    });
    outcomes.push({ id, type, status: command.status ?? "" });
    if (command.status !== "SUCCEEDED") throw commandFailed(run, command, type);
    run.step("wait", `${type} ${command.status}`);
    done.push(command);
  }
  return { outcomes, done };
}

async function queue(run: Run, requests: ProvisioningCommandRequest[]) {
  const created: Array<{ id: string; type: string }> = [];
  for (const request of requests) {
    const type = Object.keys(request)[0] ?? "";
    const command = await run.options.service.createCommand(run.identity.deviceUuid, {
      request,
      description: `nrf-provision: ${type}`,
    });
    created.push({ id: command.id, type });
  }
  run.step("queue", created.map((command) => command.type).join(", "));
  return created;
}

/** The CSR the device returned, checked exactly like a local KEYGEN (digest, sec tag, signature, UUID, CN). */
function trustedCsr(run: Run, command: ProvisioningCommand, deviceId: string) {
  const text = keygenResponseText(command.response, "certificateSigningRequest");
  const bad = (why: string) =>
    new ProvisioningError(
      "ERR_PROVISIONING_CSR_MISMATCH",
      `device ${run.identity.deviceUuid}: the CSR returned by the Provisioning Service ${why}; no certificate was issued`,
      {
        details: { deviceUuid: run.identity.deviceUuid, commandId: command.id },
      },
    );
  if (text === null) throw bad("is missing from the command's response");
  const output = parseKeygenOutput(text);
  assertKeygenTrusted(output, { secTag: run.options.secTag });
  if (output.deviceUuid !== run.identity.deviceUuid.toLowerCase())
    throw bad(`is attested by device ${output.deviceUuid}, not this one`);
  if (output.csr?.commonName !== deviceId)
    throw bad(`has CN "${output.csr?.commonName ?? ""}", expected "${deviceId}"`);
  return output;
}

/** The modem must list the root CA and certificate with our hashes, and a private key. */
async function verifyOnModem(run: Run, rootCaPem: string, certificatePem: string) {
  const expected = {
    rootCaSha256: credentialSha256(rootCaPem),
    certificateSha256: credentialSha256(certificatePem),
  };
  const listed = await withBoard(run.options.board, (at) =>
    listCredentials(at, { secTag: run.options.secTag }),
  );
  const hash = (type: number) => listed.find((entry) => entry.type === type)?.sha256;
  const problems = [
    hash(0) === expected.rootCaSha256 ? undefined : `root CA ${hash(0) ?? "missing"}`,
    hash(1) === expected.certificateSha256
      ? undefined
      : `client certificate ${hash(1) ?? "missing"}`,
    listed.some((entry) => entry.type === 2) ? undefined : "private key missing",
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) {
    throw new ProvisioningError(
      "ERR_PROVISIONING_VERIFY",
      `${run.options.board.port}: sec tag ${run.options.secTag} does not hold what was provisioned: ${problems.join("; ")}`,
      {
        details: { port: run.options.board.port, secTag: run.options.secTag, problems, expected },
      },
    );
  }
  run.step("verify", `root CA and certificate listed by %CMNG with the expected SHA-256`);
  return expected;
}

/** CSR command → trigger → check → issue (ledger first) → certificates + finished → trigger → wait → verify → onboard. */
async function certificatePath(run: Run, claimed: ClaimedDevice): Promise<RemoteProvisionResult> {
  const { options, identity } = run;
  const ca = options.ca;
  if (!ca)
    throw new ProvisioningError(
      "ERR_PROVISIONING_OPTIONS",
      "provision-remote needs the local CA (--ca-dir) unless it takes the nrf-cloud-onboarding path",
    );
  const deviceId = deviceIdFor(options.deviceIdPolicy, identity);
  const csrCommand = await queue(run, [
    {
      certificateSigningRequest: {
        secTag: options.secTag,
        attributes: `CN=${deviceId}`,
        keyUsage: DEFAULT_KEY_USAGE,
      },
    },
  ]);
  const trigger = await triggerDevice(run);
  const csrWait = await waitForAll(run, csrCommand);
  const output = trustedCsr(run, csrWait.done[0] as ProvisioningCommand, deviceId);
  const issued = await issueDeviceCertificate(ca, output, {
    deviceId,
    days: options.certificateDays,
  });
  run.step("issue", `certificate ${issued.serialNumber} (in the CA ledger)`);
  const rest = await queue(run, [
    { clientCertificate: { secTag: options.secTag, content: issued.pem } },
    { serverCertificate: { secTag: options.secTag, content: options.rootCaPem } },
    { finished: {} },
  ]);
  // The device ended its session after the CSR batch (204): make it poll again.
  await triggerDevice(run);
  const restWait = await waitForAll(run, rest);
  const verified = await verifyOnModem(run, options.rootCaPem, issued.pem);
  const onboarding = await onboardBoard(options, deviceId, issued.pem);
  run.step(
    "onboard",
    onboarding.mode === "none"
      ? "skipped"
      : `${onboarding.mode}: ${"status" in onboarding ? onboarding.status : ""}`,
  );
  return {
    ...summary(run, claimed, deviceId, trigger),
    path: "certificate",
    commands: [...csrWait.outcomes, ...restWait.outcomes],
    certificate: {
      serialNumber: issued.serialNumber,
      sha256Fingerprint: issued.sha256Fingerprint,
      pem: issued.pem,
    },
    verified,
    onboarding,
  };
}

function summary(run: Run, claimed: ClaimedDevice, deviceId: string, trigger: string) {
  const { identity, options } = run;
  return {
    port: options.board.port,
    deviceUuid: identity.deviceUuid,
    imei: identity.imei,
    model: identity.model,
    deviceId,
    secTag: options.secTag,
    claimed,
    trigger,
  };
}

/** utils' ensure_nrfcloud_provisioning_rule, without its quirks: only when no rule carries the tag. */
async function ensureOnboardingRule(run: Run): Promise<void> {
  const { service, secTag, rootCaPem } = run.options;
  const rules = await service.listRules();
  if (rules.items.some((rule) => rule.tags.includes(ONBOARDING_TAG))) {
    run.step("rule", `a rule with tag ${ONBOARDING_TAG} exists`);
    return;
  }
  await service.createTag({ tag: ONBOARDING_TAG, description: "nRF Cloud auto-onboarding" });
  await service.createRule({
    name: "nRF Cloud Onboarding",
    description: "created by nrf-provision provision-remote --ensure-rule",
    active: true,
    tags: [ONBOARDING_TAG],
    commands: [
      { request: { clientPrivateKeyGeneration: { secTag } } },
      { request: { cloudAccessKeyGeneration: { secTag } } },
      { request: { serverCertificate: { secTag, content: rootCaPem } } },
    ],
  });
  run.step("rule", `created the rule "nRF Cloud Onboarding" for tag ${ONBOARDING_TAG}`);
}

/** The rule's commands appear when the device polls: wait until there are some and all are final. */
async function waitForRuleCommands(run: Run): Promise<RemoteCommandOutcome[]> {
  const { service, waitTimeoutMs = 300_000, pollIntervalMs = 5_000 } = run.options;
  const deadline = Date.now() + waitTimeoutMs;
  for (;;) {
    const { items } = await service.listCommands(run.identity.deviceUuid);
    if (items.length > 0 && !items.some(isCommandPending)) {
      const outcomes = items.map((command) => ({
        id: command.id,
        type: Object.keys(command.request ?? {})[0] ?? "",
        status: command.status ?? "",
      }));
      const failed = items.find((command) => command.status !== "SUCCEEDED");
      if (failed) throw commandFailed(run, failed, Object.keys(failed.request ?? {})[0] ?? "rule");
      return outcomes;
    }
    if (Date.now() >= deadline) {
      throw new ProvisioningError(
        "ERR_PROVISIONING_WAIT_TIMEOUT",
        `device ${run.identity.deviceUuid}: ${items.length === 0 ? "no command from a rule reached it" : "the rule's commands did not finish"} within ${waitTimeoutMs} ms. Check that an active rule carries the tag ${ONBOARDING_TAG} (--ensure-rule creates one) and that the device polls.`,
        {
          details: {
            deviceUuid: run.identity.deviceUuid,
            commands: items.length,
            timeoutMs: waitTimeoutMs,
          },
        },
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(pollIntervalMs, Math.max(1, deadline - Date.now()))),
    );
  }
}

/** Claims and provisions one board through the Provisioning Service; see {@link RemoteProvisionOptions}. */
export async function provisionRemote(
  options: RemoteProvisionOptions,
): Promise<RemoteProvisionResult> {
  const step = options.onStep ?? (() => {});
  const board = await readBoard(options);
  const run: Run = { options, identity: board.identity, mode: board.mode, step };
  step(
    "identity",
    `${board.identity.model}, IMEI ${board.identity.imei}, device ${board.identity.deviceUuid}`,
  );
  const autoOnboarding = options.tags?.includes(ONBOARDING_TAG) === true;
  if (autoOnboarding && options.ensureRule) await ensureOnboardingRule(run);
  const claimed = await claim(run, board.token);
  if (!autoOnboarding) return certificatePath(run, claimed);
  const trigger = await triggerDevice(run);
  const commands = await waitForRuleCommands(run);
  return {
    ...summary(run, claimed, board.identity.deviceUuid, trigger),
    path: "auto-onboarding",
    commands,
    onboarding: { mode: "none" },
  };
}
