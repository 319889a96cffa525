import type { Command } from "commander";
import type { BulkClaimRowResult, ProvisioningClient } from "../../provisioning/index.js";
import type { ParsedTokenRow } from "../../provisioning/token-csv.js";
import * as cli from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { readInputText } from "../io.js";
import {
  addProvisioningOptions,
  type ProvisioningCliOptions,
  provisioningClientFrom,
} from "../provisioning-options.js";

interface ClaimCliOptions extends ProvisioningCliOptions {
  token?: string;
  csv?: string;
  tags?: string;
  dryRun?: boolean;
  chunkSize: string;
  json?: boolean;
}

/** One input row's outcome, named by its line, IMEI and UUID. */
export interface ClaimRowReport {
  line: number | null;
  imei: string | null;
  deviceUuid: string | null;
  status: "claimed" | "claimable" | "accepted" | "failed";
  message?: string;
  bulkOpsRequestId?: string;
}

/** Registers `claim`: claim devices by attestation token on nRF Cloud's Provisioning Service. */
export function register(program: Command, ctx: cli.CliContext): void {
  const command = program
    .command("claim")
    .description(
      "Claim devices on nRF Cloud's Provisioning Service by attestation token: one (--token) or a token CSV from gather-tokens (--csv), with a dry run first.",
    )
    .option("--token <token>", "one device's AT%ATTESTTOKEN value")
    .option("--csv <file>", "token CSV (imei,uuid,token,time rows, as gather-tokens writes)")
    .option("--tags <a,b>", "provisioning tags, comma-separated (e.g. nrf-cloud-onboarding)")
    .option("--dry-run", "only ask whether each device can be claimed")
    .option("--chunk-size <n>", "rows per bulk claim request (at most 1000)", "1000")
    .option("--json", "print one JSON document");
  addProvisioningOptions(command).action((options: ClaimCliOptions) => claimCommand(options, ctx));
}

async function claimCommand(options: ClaimCliOptions, ctx: cli.CliContext): Promise<void> {
  const { io } = ctx;
  if ((options.token === undefined) === (options.csv === undefined)) {
    throw cli.usageError("give one of --token <token> or --csv <file>");
  }
  const tags = (options.tags ?? "")
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
  const bulkChunkSize = cli.parseIntegerOption("--chunk-size", options.chunkSize, {
    min: 1,
    max: 1000,
  });
  const rows: ParsedTokenRow[] =
    options.csv === undefined
      ? [{ line: 0, imei: "", deviceUuid: "", token: (options.token ?? "").trim(), time: "" }]
      : (await import("../../provisioning/token-csv.js")).parseTokenCsv(
          await readInputText(io, "--csv", options.csv),
          options.csv,
        );
  if (rows.length === 0) throw cli.usageError(`${options.csv} has no rows: nothing to claim`);
  const client = await provisioningClientFrom(options, io, { bulkChunkSize });
  const reports = await claimRows(client, rows, {
    tags,
    dryRun: options.dryRun === true,
    bulk: options.csv !== undefined,
  });
  if (options.csv === undefined) for (const report of reports) report.line = null;
  reportClaims(ctx, reports, options);
}

/** Each row checked locally first (a malformed token or a UUID that is not the row's fails that row only). */
async function claimRows(
  client: ProvisioningClient,
  rows: readonly ParsedTokenRow[],
  options: { tags: string[]; dryRun: boolean; bulk: boolean },
): Promise<ClaimRowReport[]> {
  const { parseAttestationToken } = await import("../../attest/index.js");
  const reports: ClaimRowReport[] = [];
  const sendable: Array<{ report: ClaimRowReport; token: string }> = [];
  for (const row of rows) {
    const report: ClaimRowReport = {
      line: row.line,
      imei: row.imei || null,
      deviceUuid: row.deviceUuid || null,
      status: "failed",
    };
    reports.push(report);
    try {
      const uuid = parseAttestationToken(row.token).deviceUuid;
      if (report.deviceUuid !== null && report.deviceUuid.toLowerCase() !== uuid) {
        report.message = `the token is device ${uuid}'s, not ${report.deviceUuid}'s as the row says; not sent`;
        continue;
      }
      report.deviceUuid = uuid;
      sendable.push({ report, token: row.token });
    } catch (error) {
      report.message = `malformed token, not sent: ${(error as Error).message}`;
    }
  }
  if (options.dryRun || !options.bulk) await checkEach(client, sendable, options);
  else await claimInBulk(client, sendable, options.tags);
  return reports;
}

async function checkEach(
  client: ProvisioningClient,
  rows: Array<{ report: ClaimRowReport; token: string }>,
  options: { tags: string[]; dryRun: boolean },
): Promise<void> {
  for (const { report, token } of rows) {
    const check = await client.checkClaim(token);
    if (!check.claimable) {
      report.message = `the service refuses the claim (HTTP ${check.status}): ${check.message}`;
      continue;
    }
    if (options.dryRun) {
      report.status = "claimable";
      continue;
    }
    await client.claimDevice({ claimToken: token, tags: options.tags });
    report.status = "claimed";
  }
}

async function claimInBulk(
  client: ProvisioningClient,
  rows: Array<{ report: ClaimRowReport; token: string }>,
  tags: string[],
): Promise<void> {
  if (rows.length === 0) return;
  const result = await client.claimDevices(
    rows.map(({ report, token }) => ({
      claimToken: token,
      tags,
      deviceUuid: report.deviceUuid ?? "",
    })),
  );
  result.rows.forEach((row: BulkClaimRowResult, index) => {
    const report = (rows[index] as { report: ClaimRowReport }).report;
    if (row.status === "claimed") report.status = "claimed";
    else if (row.status === "accepted") {
      report.status = "accepted";
      if (row.bulkOpsRequestId !== undefined) report.bulkOpsRequestId = row.bulkOpsRequestId;
    } else report.message = row.message ?? "not claimed";
  });
}

function describeRow(report: ClaimRowReport): string {
  const where = [
    report.line === null ? null : `line ${report.line}`,
    report.imei === null ? null : `IMEI ${report.imei}`,
    report.deviceUuid === null ? null : `UUID ${report.deviceUuid}`,
  ].filter(Boolean);
  const outcome =
    report.status === "failed"
      ? `FAILED: ${report.message}`
      : report.status === "accepted"
        ? `accepted as bulk operation ${report.bulkOpsRequestId}`
        : report.status;
  return `${where.join(" ")}: ${outcome}`;
}

/** Per-row lines (or JSON); exit 5 when any row was not claimed. */
function reportClaims(
  ctx: cli.CliContext,
  reports: ClaimRowReport[],
  options: ClaimCliOptions,
): void {
  const failed = reports.filter((report) => report.status === "failed");
  const done = reports.length - failed.length;
  const verb = options.dryRun ? "can be claimed" : "claimed";
  if (options.json)
    cli.writeJson(ctx.io, {
      ok: failed.length === 0,
      dryRun: options.dryRun === true,
      rows: reports,
    });
  else
    cli.writeLines(
      ctx.io,
      ...reports.map(describeRow),
      `${done} of ${reports.length} device(s) ${verb}`,
    );
  if (failed.length === 0) return;
  const lines = failed.map((report) => report.line).filter((line) => line !== null);
  const which = lines.length > 0 ? ` (line ${lines.join(", ")} of ${options.csv})` : "";
  ctx.io.stderr.write(
    `error: ${failed.length} of ${reports.length} device(s) not ${verb}${which}; fix or unclaim them and run again: rows already claimed are reported as such [ERR_PROVISIONING_CLAIM_FAILED]\n`,
  );
  ctx.exitCode = ExitCode.CLOUD;
}
