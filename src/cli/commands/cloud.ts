import { join, resolve } from "node:path";
import type { Command } from "commander";
import {
  type BulkOpsRequestDetails,
  type BulkOpsResult,
  type BulkRowFailure,
  type BulkUpload,
  type CloudClient,
  CsvError,
  DEFAULT_FIRMWARE_TYPES,
  type OnboardingRow,
  onboardingModality,
  parseCsvRecords,
} from "../../cloud/index.js";
import { DEVICE_ID_RULE } from "../../device-id/index.js";
import { ensureDirectory, refuseExisting, writeNewFile } from "../../files/index.js";
import { mintDeviceJwt } from "../../jwt/index.js";
import { addCloudOptions, cloudClientFrom } from "../cloud-options.js";
import {
  type CliContext,
  parseIntegerOption,
  usageError,
  writeJson,
  writeLines,
} from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { readInputText } from "../io.js";

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

/** Registers `cloud …`: the nRF Cloud REST endpoints (onboarding, keys, state, bulk ops). */
export function register(program: Command, ctx: CliContext): void {
  const cloud = program
    .command("cloud")
    .description(
      "nRF Cloud REST API: onboard devices, register keys/certificates, device state, bulk operations. " +
        "API key from NRF_CLOUD_API_KEY or --api-key; base URL from NRF_CLOUD_BASE_URL or --base-url.",
    );

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
    .action(
      async (
        o: WaitOptions & {
          device?: string;
          cert?: string;
          publicKey?: string;
          subType?: string;
          tags?: string;
          fwTypes?: string;
          csv?: string;
        },
      ) => {
        const client = clientFor(o, ctx);
        if (o.csv !== undefined) {
          if (o.device || o.cert || o.publicKey || o.subType || o.tags || o.fwTypes !== undefined) {
            throw usageError(
              "Use either --csv or --device with --cert or --public-key (and --sub-type, --tags, --fw-types), not both.",
            );
          }
          const rows = parseCsvFile(await readText(ctx, "--csv", o.csv), 5).map(
            ([deviceId, subType, tags, fwTypes, certificate]): OnboardingRow => ({
              deviceId,
              certificate,
              subType,
              tags: splitList(tags, "|"),
              supportedFirmwareTypes: splitList(fwTypes, "|"),
            }),
          );
          await reportUpload(ctx, client, await client.onboardDevices(rows), o);
          return;
        }
        if (!o.device || (o.cert === undefined) === (o.publicKey === undefined)) {
          throw usageError(
            "cloud onboard needs --device with either --cert (a device certificate) or --public-key (an ES256 public key), or --csv.",
          );
        }
        const [option, file] =
          o.cert !== undefined ? ["--cert", o.cert] : ["--public-key", o.publicKey ?? ""];
        const pem = await readText(ctx, option, file);
        const modality = onboardingModality(pem);
        if ((modality === "public-key") !== (option === "--public-key")) {
          throw usageError(
            `${option} ${file} holds ${modality === "public-key" ? "a PUBLIC KEY" : "no PUBLIC KEY"} PEM; pass ${modality === "public-key" ? "it with --public-key" : "a certificate with --cert"}. Nothing was sent.`,
          );
        }
        const supportedFirmwareTypes =
          o.fwTypes === undefined ? DEFAULT_FIRMWARE_TYPES : splitList(o.fwTypes, ",");
        await client.onboardDevice({
          deviceId: o.device,
          certificate: pem,
          ...(o.subType !== undefined ? { subType: o.subType } : {}),
          ...(o.tags !== undefined ? { tags: splitList(o.tags, ",") } : {}),
          supportedFirmwareTypes,
        });
        const how =
          modality === "public-key" ? "its public key (device JWTs over REST)" : "its certificate";
        if (o.json)
          writeJson(ctx.io, { ok: true, deviceId: o.device, modality, supportedFirmwareTypes });
        else writeLines(ctx.io, `Onboarded ${o.device} with ${how}.`);
      },
    );

  withWait(
    cloud
      .command("register-keys")
      .description('Register ES256 public keys for device JWTs (CSV deviceId,"PEM")'),
  )
    .requiredOption("--csv <file>", "RegisterPublicKeys CSV (no header)")
    .action(async (o: WaitOptions & { csv: string }) => {
      const client = clientFor(o, ctx);
      const rows = parseCsvFile(await readText(ctx, "--csv", o.csv), 2);
      const upload = await client.registerPublicKeys(
        rows.map(([deviceId, publicKey]) => ({ deviceId, publicKey })),
      );
      await reportUpload(ctx, client, upload, o);
    });

  withWait(
    cloud
      .command("register-certs")
      .description('Replace certificates of onboarded devices (CSV deviceId,"PEM")'),
  )
    .requiredOption("--csv <file>", "RegisterCertificates CSV (no header)")
    .action(async (o: WaitOptions & { csv: string }) => {
      const client = clientFor(o, ctx);
      const rows = parseCsvFile(await readText(ctx, "--csv", o.csv), 2);
      const upload = await client.registerCertificates(
        rows.map(([deviceId, certificate]) => ({ deviceId, certificate })),
      );
      await reportUpload(ctx, client, upload, o);
    });

  connection(cloud.command("associate"))
    .description(
      "Associate a Nordic device with the account by its ownership code (legacy JITP flow)",
    )
    .requiredOption("--device <id>", "device ID, e.g. nrf-<IMEI>")
    .requiredOption("--ownership-code <code>", "the ownership code printed on the board")
    .option("--sub-type <subType>", "device sub-type")
    .action(
      async (
        o: ConnectionOptions & { device: string; ownershipCode: string; subType?: string },
      ) => {
        await clientFor(o, ctx).associateDevice({
          deviceId: o.device,
          ownershipCode: o.ownershipCode,
          ...(o.subType !== undefined ? { subType: o.subType } : {}),
        });
        done(ctx, o, { deviceId: o.device }, `Associated ${o.device}.`);
      },
    );

  connection(cloud.command("dissociate"))
    .description("Dissociate a device (deprecated by nRF Cloud: prefer `cloud device delete`)")
    .requiredOption("--device <id>", "device ID")
    .action(async (o: ConnectionOptions & { device: string }) => {
      await clientFor(o, ctx).dissociateDevice({ deviceId: o.device });
      done(ctx, o, { deviceId: o.device }, `Dissociated ${o.device}.`);
    });

  connection(cloud.command("create-cert"))
    .description(
      "Have nRF Cloud create a JITP key and certificate (deprecated: prefer your own CA)",
    )
    .requiredOption("--device <id>", "device ID (nrf-<IMEI> for Nordic products)")
    .requiredOption("--ownership-code <code>", "the device's ownership code")
    .option("--out-dir <dir>", "write <id>.crt.pem, <id>.key.pem (mode 0600) and <id>.ca.pem here")
    .option("--force", "replace existing --out-dir files (never a symbolic link)")
    .action(
      async (
        o: ConnectionOptions & {
          device: string;
          ownershipCode: string;
          outDir?: string;
          force?: boolean;
        },
      ) => {
        // Named after the device we asked for, never after what the server answered.
        const dir = o.outDir === undefined ? undefined : resolve(ctx.io.cwd, o.outDir);
        const files = dir === undefined ? undefined : createCertFiles(dir, o.device);
        const force = o.force === true;
        // Checked before the request: the key exists only in this reply.
        if (files !== undefined) await refuseExisting(Object.values(files), { force });
        const created = await clientFor(o, ctx).createDeviceCertificate({
          deviceId: o.device,
          ownershipCode: o.ownershipCode,
        });
        if (created.clientId !== o.device) {
          ctx.io.stderr.write(
            `warning: nRF Cloud answered with a certificate for ${JSON.stringify(created.clientId)}, not the requested ${o.device}; check the device ID.\n`,
          );
        }
        if (dir === undefined || files === undefined) {
          if (o.json) writeJson(ctx.io, { ok: true, ...created });
          else
            writeLines(ctx.io, created.clientCert.trimEnd(), (created.privateKey ?? "").trimEnd());
          return;
        }
        await ensureDirectory(dir);
        if (created.privateKey)
          await writeNewFile(files.privateKey, created.privateKey, { private: true, force });
        await writeNewFile(files.certificate, created.clientCert, { force });
        await writeNewFile(files.caCertificate, created.caCert, { force });
        done(
          ctx,
          o,
          { deviceId: o.device, clientId: created.clientId, files },
          `Wrote ${Object.values(files).join(", ")}.`,
        );
      },
    );

  connection(cloud.command("state"))
    .description(
      "Update a device's shadow (reported and/or desired), with the API key or a device JWT",
    )
    .requiredOption("--device <id>", "device ID")
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
    .action(
      async (
        o: ConnectionOptions & {
          device: string;
          reported?: string;
          desired?: string;
          jwtKey?: string;
          ifMatch?: string;
        },
      ) => {
        if (o.reported === undefined && o.desired === undefined) {
          throw usageError("cloud state needs --reported JSON and/or --desired JSON.");
        }
        const state = {
          ...(o.reported !== undefined
            ? { reported: parseJsonObject("--reported", o.reported) }
            : {}),
          ...(o.desired !== undefined ? { desired: parseJsonObject("--desired", o.desired) } : {}),
        };
        const client = clientFor(o, ctx, o.jwtKey === undefined ? "required" : "optional");
        const jwt =
          o.jwtKey === undefined
            ? undefined
            : mintDeviceJwt({
                privateKey: await readText(ctx, "--jwt-key", o.jwtKey),
                deviceId: o.device,
              });
        let ifMatch: number | undefined;
        if (o.ifMatch === "auto") {
          const device = await client.fetchDevice({ deviceId: o.device, ...(jwt ? { jwt } : {}) });
          ifMatch = device.$meta?.version ?? device.state?.version;
          if (ifMatch === undefined) {
            throw usageError(
              `nRF Cloud reported no shadow version for ${o.device}; pass --if-match N or omit it.`,
            );
          }
        } else if (o.ifMatch !== undefined) {
          ifMatch = parseIntegerOption("--if-match", o.ifMatch, { min: 0 });
        }
        await client.updateDeviceState({
          deviceId: o.device,
          state,
          ...(jwt ? { jwt } : {}),
          ...(ifMatch !== undefined ? { ifMatch } : {}),
        });
        done(
          ctx,
          o,
          { deviceId: o.device, ifMatch: ifMatch ?? null, auth: jwt ? "device-jwt" : "api-key" },
          `Updated the state of ${o.device}${ifMatch === undefined ? "" : ` (was version ${ifMatch})`}.`,
        );
      },
    );

  const device = cloud.command("device").description("Read or delete one device");
  connection(device.command("get"))
    .description("FetchDevice: the device record and its shadow")
    .requiredOption("--device <id>", "device ID")
    .action(async (o: ConnectionOptions & { device: string }) => {
      const fetched = await clientFor(o, ctx).fetchDevice({ deviceId: o.device });
      if (o.json) writeJson(ctx.io, { ok: true, device: fetched });
      else writeLines(ctx.io, JSON.stringify(fetched, null, 2));
    });
  connection(device.command("delete"))
    .description("DeleteDevice: remove the device from nRF Cloud")
    .requiredOption("--device <id>", "device ID")
    .option("--ownership-code <code>", "only for onboarded Nordic hardware that is not associated")
    .action(async (o: ConnectionOptions & { device: string; ownershipCode?: string }) => {
      await clientFor(o, ctx).deleteDevice({
        deviceId: o.device,
        ...(o.ownershipCode ? { ownershipCode: o.ownershipCode } : {}),
      });
      done(ctx, o, { deviceId: o.device }, `Deleted ${o.device}.`);
    });

  withWait(
    cloud
      .command("bulk-status")
      .argument("<bulkOpsRequestId>")
      .description("Show (or --wait for) a bulk operation"),
  ).action(async (id: string, o: WaitOptions) => {
    const client = clientFor(o, ctx);
    if (!o.wait) {
      const details = await client.getBulkOpsRequest(id);
      if (o.json) writeJson(ctx.io, { ok: true, ...details });
      else writeLines(ctx.io, describeDetails(details));
      return;
    }
    const result = await client.waitForBulkOps(id, waitOptions(ctx, o));
    printResults(ctx, o, [result]);
  });
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
  o: ConnectionOptions,
  ctx: CliContext,
  apiKey: "required" | "optional" = "required",
): CloudClient {
  return cloudClientFrom(o, ctx.io, { purpose: "the nRF Cloud REST API", apiKey });
}

function done(
  ctx: CliContext,
  o: { json?: boolean },
  fields: Record<string, unknown>,
  line: string,
): void {
  if (o.json) writeJson(ctx.io, { ok: true, ...fields });
  else writeLines(ctx.io, line);
}

/** The files of `cloud create-cert --out-dir`, named after the requested device ID. */
function createCertFiles(dir: string, deviceId: string) {
  if (!/^[A-Za-z0-9:_-]{1,128}$/.test(deviceId) || deviceId.startsWith("-")) {
    throw usageError(
      `--device ${JSON.stringify(deviceId)} cannot name a file: use letters, digits, ":", "_" and "-"`,
    );
  }
  return {
    certificate: join(dir, `${deviceId}.crt.pem`),
    privateKey: join(dir, `${deviceId}.key.pem`),
    caCertificate: join(dir, `${deviceId}.ca.pem`),
  };
}

function readText(ctx: CliContext, option: string, file: string): Promise<string> {
  return readInputText(ctx.io, option, file);
}

function splitList(text: string, separator: string): string[] {
  return text === "" ? [] : text.split(separator).map((item) => item.trim());
}

function parseJsonObject(option: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`${option} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw usageError(`${option} must be a JSON object, got ${text}`);
  }
  return value as Record<string, unknown>;
}

/** Reads an nRF Cloud CSV file into rows of exactly `columns` fields (no header, no blank lines). */
function parseCsvFile<N extends 2 | 5>(
  text: string,
  columns: N,
): Array<N extends 2 ? [string, string] : [string, string, string, string, string]> {
  let records: ReturnType<typeof parseCsvRecords>;
  try {
    records = parseCsvRecords(text);
  } catch (error) {
    throw new CsvError(`The CSV file is malformed: ${(error as Error).message}.`, {
      reason: "malformed",
    });
  }
  return records.map(({ row, fields }) => {
    if (fields.length !== columns) {
      const deviceId = fields[0] ?? "";
      const reason =
        fields.length === 1 && deviceId === ""
          ? "blank line (nRF Cloud refuses blank lines)"
          : `${fields.length} columns, expected ${columns}`;
      // Rows are numbered from 1, as an editor numbers the file's lines (there is no header).
      throw new CsvError(`CSV row ${row + 1}: ${reason}. Fix the file; nothing was uploaded.`, {
        row,
        deviceId,
        field: "row",
        reason,
      });
    }
    return fields as never;
  });
}

function waitOptions(ctx: CliContext, o: WaitOptions) {
  const lastStatus = new Map<string, string>();
  return {
    timeoutMs: parseIntegerOption("--wait-timeout", o.waitTimeout, { min: 1 }) * 1000,
    onProgress: (details: BulkOpsRequestDetails) => {
      if (lastStatus.get(details.bulkOpsRequestId) === details.status) return;
      lastStatus.set(details.bulkOpsRequestId, details.status);
      ctx.io.stderr.write(`bulk operation ${details.bulkOpsRequestId}: ${details.status}\n`);
    },
  };
}

async function reportUpload(
  ctx: CliContext,
  client: CloudClient,
  upload: BulkUpload,
  o: WaitOptions,
): Promise<void> {
  if (!o.wait) {
    const requests = upload.chunks.map((c) => ({
      bulkOpsRequestId: c.bulkOpsRequestId,
      rows: c.deviceIds.length,
    }));
    if (o.json) writeJson(ctx.io, { ok: true, endpoint: upload.endpoint, requests });
    else {
      writeLines(
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
  const { results } = await client.waitForBulkUpload(upload, waitOptions(ctx, o));
  printResults(ctx, o, results);
}

/** Prints outcomes; failed rows name their device. Exit code 5 when any row failed. */
function printResults(ctx: CliContext, o: { json?: boolean }, results: BulkOpsResult[]): void {
  const failures: BulkRowFailure[] = results.flatMap((r) => r.failures);
  const ok = results.every((r) => r.status === "SUCCEEDED");
  if (!ok) ctx.exitCode = ExitCode.CLOUD;
  if (o.json) {
    writeJson(ctx.io, {
      ok,
      requests: results.map((r) => ({ ...r.details, failedRows: r.failures.length })),
      failures,
    });
    return;
  }
  const lines = results.map((r) => describeDetails(r.details));
  for (const f of failures) {
    lines.push(
      `  FAILED ${f.deviceId ?? "(unknown device)"} (row ${f.row} of ${f.bulkOpsRequestId}): ${f.message}`,
    );
  }
  if (!ok)
    lines.push(`${failures.length} device(s) failed: fix those rows and resubmit only them.`);
  writeLines(ctx.io, ...lines);
}

function describeDetails(d: BulkOpsRequestDetails): string {
  const completed = d.completedAt ? `, completed ${d.completedAt}` : "";
  return `${d.bulkOpsRequestId} ${d.endpoint}: ${d.status} (requested ${d.requestedAt}${completed})`;
}
