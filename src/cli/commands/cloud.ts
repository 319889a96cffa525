import { resolve } from "node:path";
import type { Command } from "commander";
import {
  type BulkOpsRequestDetails,
  type BulkOpsResult,
  type BulkRowFailure,
  type BulkUpload,
  type CloudClient,
  createCloudClient,
  createdCertificateFiles,
  DEFAULT_FIRMWARE_TYPES,
  onboardingModality,
  parseCertificatesCsv,
  parseOnboardingCsv,
  parsePublicKeysCsv,
  refuseExistingCertificateFiles,
  shadowVersion,
  writeCreatedCertificate,
} from "../../cloud/index.js";
import { DEVICE_ID_RULE } from "../../device-id/index.js";
import { mintDeviceJwt } from "../../jwt/index.js";
import { addCloudOptions, cloudSettingsFrom } from "../cloud-options.js";
import * as cli from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { readInputText } from "../io.js";
import { addOutDirOptions } from "../out-dir-options.js";

interface ConnectionOptions {
  baseUrl?: string;
  apiKey?: string;
  httpTimeout?: string;
  json?: boolean;
}
interface WaitOptions extends ConnectionOptions {
  wait?: boolean;
  waitTimeout: string;
}
interface OnboardOptions extends WaitOptions {
  device?: string;
  cert?: string;
  publicKey?: string;
  subType?: string;
  tags?: string;
  fwTypes?: string;
  csv?: string;
}
interface CsvUploadOptions extends WaitOptions {
  csv: string;
}
interface DeviceOptions extends ConnectionOptions {
  device: string;
}
interface AssociateOptions extends DeviceOptions {
  ownershipCode: string;
  subType?: string;
}
interface CreateCertOptions extends DeviceOptions {
  ownershipCode: string;
  outDir?: string;
  force?: boolean;
}
interface StateOptions extends DeviceOptions {
  reported?: string;
  desired?: string;
  jwtKey?: string;
  ifMatch?: string;
}
interface DeleteOptions extends DeviceOptions {
  ownershipCode?: string;
}

/** Registers `cloud …`: the nRF Cloud REST endpoints (onboarding, keys, state, bulk ops). */
export function register(program: Command, ctx: cli.CliContext): void {
  const cloud = program
    .command("cloud")
    .description(
      "nRF Cloud REST API: onboard devices, register keys/certificates, device state, bulk operations. " +
        "API key from NRF_CLOUD_API_KEY or --api-key; base URL from NRF_CLOUD_BASE_URL or --base-url.",
    );
  registerOnboard(cloud, ctx);
  registerCsvUploads(cloud, ctx);
  registerAssociation(cloud, ctx);
  registerState(cloud, ctx);
  registerDevice(cloud, ctx);
  withWait(
    cloud
      .command("bulk-status")
      .argument("<bulkOpsRequestId>")
      .description("Show (or --wait for) a bulk operation"),
  ).action((bulkOpsRequestId: string, options: WaitOptions) =>
    bulkStatusCommand(bulkOpsRequestId, options, ctx),
  );
}

function registerOnboard(cloud: Command, ctx: cli.CliContext): void {
  withWait(
    cloud
      .command("onboard")
      .description(
        "Onboard one device (--device with --cert or --public-key) or many (--csv, ≤ 1000 rows per request)",
      ),
  )
    .option(
      "--device <id>",
      `device ID (normally the CSR's CN: the modem UUID or nrf-<IMEI>); ${DEVICE_ID_RULE}`,
    )
    .option("--cert <file>", "the device certificate (PEM)")
    .option(
      "--public-key <file>",
      "instead of --cert: an ES256 public key (PEM) the device signs its JWTs with (REST only)",
    )
    .option(
      "--sub-type <subType>",
      "device sub-type, e.g. humidity-sensor (contains 'gateway' → Gateway)",
    )
    .option("--tags <a,b>", "comma-separated tags")
    .option(
      "--fw-types <APP,MODEM>",
      "firmware types the device supports for FOTA, comma-separated (default APP,MODEM; '' for none)",
    )
    .option("--csv <file>", 'OnboardDevices CSV: deviceId,subType,tags,fwTypes,"PEM" (no header)')
    .action((options: OnboardOptions) =>
      options.csv === undefined
        ? onboardOneCommand(options, ctx)
        : onboardCsvCommand(options, options.csv, ctx),
    );
}

/** The bulk uploads of a CSV file other than onboarding: one row per device, no header. */
const csvUploadCommands = [
  {
    name: "register-keys",
    description: 'Register ES256 public keys for device JWTs (CSV deviceId,"PEM")',
    csvHelp: "RegisterPublicKeys CSV (no header)",
    action: registerKeysCommand,
  },
  {
    name: "register-certs",
    description: 'Replace certificates of onboarded devices (CSV deviceId,"PEM")',
    csvHelp: "RegisterCertificates CSV (no header)",
    action: registerCertsCommand,
  },
];

function registerCsvUploads(cloud: Command, ctx: cli.CliContext): void {
  for (const { name, description, csvHelp, action } of csvUploadCommands) {
    withWait(cloud.command(name).description(description))
      .requiredOption("--csv <file>", csvHelp)
      .action((options: CsvUploadOptions) => action(options, ctx));
  }
}

function registerAssociation(cloud: Command, ctx: cli.CliContext): void {
  deviceCommand(
    cloud,
    "associate",
    "Associate a Nordic device with the account by its ownership code (legacy JITP flow)",
    "device ID, e.g. nrf-<IMEI>",
  )
    .requiredOption("--ownership-code <code>", "the ownership code printed on the board")
    .option("--sub-type <subType>", "device sub-type")
    .action((options: AssociateOptions) => associateCommand(options, ctx));

  deviceCommand(
    cloud,
    "dissociate",
    "Dissociate a device (deprecated by nRF Cloud: prefer `cloud device delete`)",
  ).action((options: DeviceOptions) => dissociateCommand(options, ctx));

  const createCert = deviceCommand(
    cloud,
    "create-cert",
    "Have nRF Cloud create a JITP key and certificate (deprecated: prefer your own CA)",
    "device ID (nrf-<IMEI> for Nordic products)",
  ).requiredOption("--ownership-code <code>", "the device's ownership code");
  addOutDirOptions(
    createCert,
    "write <id>.crt.pem, <id>.key.pem (mode 0600) and <id>.ca.pem here",
  ).action((options: CreateCertOptions) => createCertCommand(options, ctx));
}

function registerState(cloud: Command, ctx: cli.CliContext): void {
  deviceCommand(
    cloud,
    "state",
    "Update a device's shadow (reported and/or desired), with the API key or a device JWT",
  )
    .option("--reported <json>", 'partial reported state, e.g. \'{"device":{"x":1}}\'')
    .option("--desired <json>", "partial desired state")
    .option(
      "--jwt-key <file>",
      "authenticate as the device: mint a JWT with this private key (PEM)",
    )
    .option(
      "--if-match <auto|N>",
      "only update shadow version N; auto: the version read just before",
    )
    .action((options: StateOptions) => stateCommand(options, ctx));
}

function registerDevice(cloud: Command, ctx: cli.CliContext): void {
  const device = cloud.command("device").description("Read or delete one device");
  deviceCommand(device, "get", "FetchDevice: the device record and its shadow").action(
    (options: DeviceOptions) => deviceGetCommand(options, ctx),
  );
  deviceCommand(device, "delete", "DeleteDevice: remove the device from nRF Cloud")
    .option("--ownership-code <code>", "only for onboarded Nordic hardware that is not associated")
    .action((options: DeleteOptions) => deviceDeleteCommand(options, ctx));
}

/** A command about one device: the connection options, then the required `--device <id>`. */
function deviceCommand(
  parent: Command,
  name: string,
  description: string,
  deviceHelp = "device ID",
): Command {
  return connection(parent.command(name))
    .description(description)
    .requiredOption("--device <id>", deviceHelp);
}

/** `cloud onboard --csv FILE`: one bulk upload of the file's rows. */
async function onboardCsvCommand(
  options: OnboardOptions,
  csvFile: string,
  ctx: cli.CliContext,
): Promise<void> {
  const client = clientFor(options, ctx);
  const { device, cert, publicKey, subType, tags, fwTypes } = options;
  if (device || cert || publicKey || subType || tags || fwTypes !== undefined) {
    throw cli.usageError(
      "Use either --csv or --device with --cert or --public-key (and --sub-type, --tags, --fw-types), not both.",
    );
  }
  const rows = parseOnboardingCsv(await readText(ctx, "--csv", csvFile));
  await reportUpload(ctx, client, await client.onboardDevices(rows), options);
}

/** `cloud onboard --device ID --cert|--public-key FILE`: one OnboardDevice call. */
async function onboardOneCommand(options: OnboardOptions, ctx: cli.CliContext): Promise<void> {
  const client = clientFor(options, ctx);
  const deviceId = options.device;
  if (!deviceId || (options.cert === undefined) === (options.publicKey === undefined)) {
    throw cli.usageError(
      "cloud onboard needs --device with either --cert (a device certificate) or --public-key (an ES256 public key), or --csv.",
    );
  }
  const [option, file] =
    options.cert !== undefined
      ? ["--cert", options.cert]
      : ["--public-key", options.publicKey ?? ""];
  const pem = await readText(ctx, option, file);
  const modality = onboardingModality(pem);
  if ((modality === "public-key") !== (option === "--public-key")) {
    throw cli.usageError(
      `${option} ${file} holds ${modality === "public-key" ? "a PUBLIC KEY" : "no PUBLIC KEY"} PEM; pass ${modality === "public-key" ? "it with --public-key" : "a certificate with --cert"}. Nothing was sent.`,
    );
  }
  const supportedFirmwareTypes =
    options.fwTypes === undefined ? DEFAULT_FIRMWARE_TYPES : splitFlagList(options.fwTypes);
  await client.onboardDevice({
    deviceId,
    certificate: pem,
    subType: options.subType,
    tags: options.tags === undefined ? undefined : splitFlagList(options.tags),
    supportedFirmwareTypes,
  });
  const how =
    modality === "public-key" ? "its public key (device JWTs over REST)" : "its certificate";
  if (options.json) cli.writeJson(ctx.io, { ok: true, deviceId, modality, supportedFirmwareTypes });
  else cli.writeLines(ctx.io, `Onboarded ${deviceId} with ${how}.`);
}

async function registerKeysCommand(options: CsvUploadOptions, ctx: cli.CliContext): Promise<void> {
  const client = clientFor(options, ctx);
  const rows = parsePublicKeysCsv(await readText(ctx, "--csv", options.csv));
  await reportUpload(ctx, client, await client.registerPublicKeys(rows), options);
}

async function registerCertsCommand(options: CsvUploadOptions, ctx: cli.CliContext): Promise<void> {
  const client = clientFor(options, ctx);
  const rows = parseCertificatesCsv(await readText(ctx, "--csv", options.csv));
  await reportUpload(ctx, client, await client.registerCertificates(rows), options);
}

async function associateCommand(options: AssociateOptions, ctx: cli.CliContext): Promise<void> {
  await clientFor(options, ctx).associateDevice({
    deviceId: options.device,
    ownershipCode: options.ownershipCode,
    subType: options.subType,
  });
  done(ctx, options, { deviceId: options.device }, `Associated ${options.device}.`);
}

async function dissociateCommand(options: DeviceOptions, ctx: cli.CliContext): Promise<void> {
  await clientFor(options, ctx).dissociateDevice({ deviceId: options.device });
  done(ctx, options, { deviceId: options.device }, `Dissociated ${options.device}.`);
}

async function createCertCommand(options: CreateCertOptions, ctx: cli.CliContext): Promise<void> {
  const deviceId = options.device;
  // Named after the device we asked for, never after what the server answered.
  const dir = options.outDir === undefined ? undefined : resolve(ctx.io.cwd, options.outDir);
  if (dir !== undefined) refuseUnsafeFileName(deviceId);
  const files = dir === undefined ? undefined : createdCertificateFiles(dir, deviceId);
  const force = options.force === true;
  if (files !== undefined) await refuseExistingCertificateFiles(files, force);
  const created = await clientFor(options, ctx).createDeviceCertificate({
    deviceId,
    ownershipCode: options.ownershipCode,
  });
  if (created.clientId !== deviceId) {
    ctx.io.stderr.write(
      `warning: nRF Cloud answered with a certificate for ${JSON.stringify(created.clientId)}, not the requested ${deviceId}; check the device ID.\n`,
    );
  }
  if (dir === undefined || files === undefined) {
    if (options.json) cli.writeJson(ctx.io, { ok: true, ...created });
    else cli.writeLines(ctx.io, created.clientCert.trimEnd(), (created.privateKey ?? "").trimEnd());
    return;
  }
  await writeCreatedCertificate(dir, files, created, force);
  done(
    ctx,
    options,
    { deviceId, clientId: created.clientId, files },
    `Wrote ${Object.values(files).join(", ")}.`,
  );
}

/** `--device` names files under --out-dir: only characters safe in a file name. */
function refuseUnsafeFileName(deviceId: string): void {
  if (!/^[A-Za-z0-9:_-]{1,128}$/.test(deviceId) || deviceId.startsWith("-")) {
    throw cli.usageError(
      `--device ${JSON.stringify(deviceId)} cannot name a file: use letters, digits, ":", "_" and "-"`,
    );
  }
}

async function stateCommand(options: StateOptions, ctx: cli.CliContext): Promise<void> {
  const { device: deviceId, reported, desired } = options;
  if (reported === undefined && desired === undefined) {
    throw cli.usageError("cloud state needs --reported JSON and/or --desired JSON.");
  }
  const state = {
    reported: reported === undefined ? undefined : parseJsonObject("--reported", reported),
    desired: desired === undefined ? undefined : parseJsonObject("--desired", desired),
  };
  const client = clientFor(options, ctx, options.jwtKey === undefined ? "required" : "optional");
  const jwt =
    options.jwtKey === undefined
      ? undefined
      : mintDeviceJwt({ privateKey: await readText(ctx, "--jwt-key", options.jwtKey), deviceId });
  const ifMatch = await ifMatchFrom(options, client, jwt);
  await client.updateDeviceState({
    deviceId,
    state,
    jwt,
    ifMatch,
  });
  done(
    ctx,
    options,
    { deviceId, ifMatch: ifMatch ?? null, auth: jwt ? "device-jwt" : "api-key" },
    `Updated the state of ${deviceId}${ifMatch === undefined ? "" : ` (was version ${ifMatch})`}.`,
  );
}

/** `--if-match N`, or with `auto` the shadow version read just before. */
async function ifMatchFrom(
  options: StateOptions,
  client: CloudClient,
  jwt: string | undefined,
): Promise<number | undefined> {
  if (options.ifMatch === undefined) return undefined;
  if (options.ifMatch !== "auto") {
    return cli.parseIntegerOption("--if-match", options.ifMatch, { min: 0 });
  }
  const device = await client.fetchDevice({ deviceId: options.device, jwt });
  const version = shadowVersion(device);
  if (version === undefined) {
    throw cli.usageError(
      `nRF Cloud reported no shadow version for ${options.device}; pass --if-match N or omit it.`,
    );
  }
  return version;
}

async function deviceGetCommand(options: DeviceOptions, ctx: cli.CliContext): Promise<void> {
  const fetched = await clientFor(options, ctx).fetchDevice({ deviceId: options.device });
  if (options.json) cli.writeJson(ctx.io, { ok: true, device: fetched });
  else cli.writeLines(ctx.io, JSON.stringify(fetched, null, 2));
}

async function deviceDeleteCommand(options: DeleteOptions, ctx: cli.CliContext): Promise<void> {
  await clientFor(options, ctx).deleteDevice({
    deviceId: options.device,
    ownershipCode: options.ownershipCode,
  });
  done(ctx, options, { deviceId: options.device }, `Deleted ${options.device}.`);
}

async function bulkStatusCommand(
  bulkOpsRequestId: string,
  options: WaitOptions,
  ctx: cli.CliContext,
): Promise<void> {
  const client = clientFor(options, ctx);
  if (!options.wait) {
    const details = await client.getBulkOpsRequest(bulkOpsRequestId);
    if (options.json) cli.writeJson(ctx.io, { ok: true, ...details });
    else cli.writeLines(ctx.io, describeDetails(details));
    return;
  }
  const result = await client.waitForBulkOps(bulkOpsRequestId, waitOptions(ctx, options));
  printResults(ctx, options, [result]);
}

/** Adds the connection options and --json every cloud command takes. */
function connection(cmd: Command): Command {
  return addCloudOptions(cmd).option("--json", "print one JSON document");
}

/** A bulk command: connection options plus --wait. */
function withWait(cmd: Command): Command {
  return connection(cmd)
    .option(
      "--wait",
      "wait for the bulk operation(s) to finish; list the devices that failed and why",
    )
    .option("--wait-timeout <seconds>", "give up waiting after this long", "600");
}

/** The client for a command: API key required unless a device JWT authenticates instead. */
function clientFor(
  options: ConnectionOptions,
  ctx: cli.CliContext,
  apiKey: "required" | "optional" = "required",
): CloudClient {
  return createCloudClient(
    cloudSettingsFrom(options, ctx.io, { purpose: "the nRF Cloud REST API", apiKey }),
  );
}

function done(
  ctx: cli.CliContext,
  options: { json?: boolean },
  fields: Record<string, unknown>,
  line: string,
): void {
  if (options.json) cli.writeJson(ctx.io, { ok: true, ...fields });
  else cli.writeLines(ctx.io, line);
}

function readText(ctx: cli.CliContext, option: string, file: string): Promise<string> {
  return readInputText(ctx.io, option, file);
}

/** A comma-separated flag value as a list ("" → none). */
function splitFlagList(text: string): string[] {
  return text === "" ? [] : text.split(",").map((item) => item.trim());
}

function parseJsonObject(option: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw cli.usageError(`${option} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw cli.usageError(`${option} must be a JSON object, got ${text}`);
  }
  return value as Record<string, unknown>;
}

function waitOptions(ctx: cli.CliContext, options: WaitOptions) {
  const lastStatus = new Map<string, string>();
  return {
    timeoutMs: cli.parseIntegerOption("--wait-timeout", options.waitTimeout, { min: 1 }) * 1000,
    onProgress: (details: BulkOpsRequestDetails) => {
      if (lastStatus.get(details.bulkOpsRequestId) === details.status) return;
      lastStatus.set(details.bulkOpsRequestId, details.status);
      ctx.io.stderr.write(`bulk operation ${details.bulkOpsRequestId}: ${details.status}\n`);
    },
  };
}

async function reportUpload(
  ctx: cli.CliContext,
  client: CloudClient,
  upload: BulkUpload,
  options: WaitOptions,
): Promise<void> {
  if (!options.wait) {
    const requests = upload.chunks.map((c) => ({
      bulkOpsRequestId: c.bulkOpsRequestId,
      rows: c.deviceIds.length,
    }));
    if (options.json) cli.writeJson(ctx.io, { ok: true, endpoint: upload.endpoint, requests });
    else {
      cli.writeLines(
        ctx.io,
        ...requests.map(
          (r) =>
            `${upload.endpoint}: ${r.rows} device(s) accepted as bulk operation ${r.bulkOpsRequestId}`,
        ),
        `Follow with: nrf-provision cloud bulk-status <id> --wait`,
      );
    }
    return;
  }
  const { results } = await client.waitForBulkUpload(upload, waitOptions(ctx, options));
  printResults(ctx, options, results);
}

/** Prints outcomes; failed rows name their device. Exit code 5 when any row failed. */
function printResults(
  ctx: cli.CliContext,
  options: { json?: boolean },
  results: BulkOpsResult[],
): void {
  const failures: BulkRowFailure[] = results.flatMap((r) => r.failures);
  const ok = results.every((r) => r.status === "SUCCEEDED");
  if (!ok) ctx.exitCode = ExitCode.CLOUD;
  if (options.json) {
    cli.writeJson(ctx.io, {
      ok,
      requests: results.map((r) => ({ ...r.details, failedRows: r.failures.length })),
      failures,
    });
    return;
  }
  const lines = results.map((r) => describeDetails(r.details));
  for (const failure of failures) {
    lines.push(
      `  FAILED ${failure.deviceId ?? "(unknown device)"} (row ${failure.row} of ${failure.bulkOpsRequestId}): ${failure.message}`,
    );
  }
  if (!ok)
    lines.push(`${failures.length} device(s) failed: fix those rows and resubmit only them.`);
  cli.writeLines(ctx.io, ...lines);
}

function describeDetails(details: BulkOpsRequestDetails): string {
  const completed = details.completedAt ? `, completed ${details.completedAt}` : "";
  return `${details.bulkOpsRequestId} ${details.endpoint}: ${details.status} (requested ${details.requestedAt}${completed})`;
}
