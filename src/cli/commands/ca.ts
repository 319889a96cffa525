import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { parseKeygenOutput } from "../../attest/index.js";
import {
  type BatchItem,
  CA_PASSPHRASE_ENV,
  type CaInfo,
  type CertificateAuthority,
  type CertificateProfile,
  countIssued,
  csrFileItems,
  DELEGATED_ROOT_FILE,
  delegateCa,
  type IssuedCertificate,
  initCa,
  issueBatch,
  issueDeviceCertificate,
  keygenFileItems,
  keygenItem,
  outputFailed,
  ROOT_CA_PASSPHRASE_ENV,
  readCaInfo,
  readLedger,
  refuseBatchOutputs,
  registerCertificatesCsv,
  writeBatchFiles,
} from "../../ca/index.js";
import { ensureDirectory, refuseExisting, requireFolder, writeNewFile } from "../../files/index.js";
import * as cli from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { type CliIo, readInputFile } from "../io.js";
import { newCaPassphrase, openCaWithPassphrase } from "../passphrase.js";
import { registerRevokeStation } from "./ca-revoke-station.js";

/** Registers the `ca` commands: init, delegate, show, issue, ledger, revoke-station. */
export function register(program: Command, ctx: cli.CliContext): void {
  const ca = program
    .command("ca")
    .description(
      "Local certificate authority: create it, issue device certificates, query its ledger.",
    );

  ca.command("init")
    .description(
      `Create a P-256 CA in --dir (key encrypted with ${CA_PASSPHRASE_ENV} or a prompt).`,
    )
    .requiredOption("--dir <dir>", "CA directory (created; must not already hold a CA)")
    .option("--cn <name>", 'CA common name (default "nrf-provision device CA")')
    .option("--org <organization>", "CA organization (O)")
    .option("--country <code>", "CA country (C), two letters")
    .option("--days <n>", "CA validity in days", "3650")
    .option("--insecure-no-passphrase", "store the CA key UNENCRYPTED (test set-ups only)")
    .option("--json", "print one JSON document")
    .action((flags: InitFlags) => initAction(ctx, flags));

  registerDelegate(ca, ctx);

  ca.command("show")
    .description("Show the CA's subject, serial, validity, fingerprint and issued count.")
    .requiredOption("--dir <dir>", "CA directory")
    .option("--json", "print one JSON document")
    .action((flags: { dir: string; json?: boolean }) => showAction(ctx, flags));

  ca.command("issue")
    .description(
      "Issue device certificates from CSRs or AT%KEYGEN output. One input: PEM to stdout or --out. Many: --out-dir with one PEM per device and RegisterCertificates CSV files.",
    )
    .requiredOption("--dir <dir>", "CA directory")
    .option("--csr <files...>", "CSR files (PEM, possibly several per file, or DER)")
    .option("--keygen <blob>", "AT%KEYGEN output (<base64url>.<base64url> or the %KEYGEN: line)")
    .option("--keygen-file <file>", "file with AT%KEYGEN outputs, one per line")
    .option(
      "--allow-unattested",
      "issue from AT%KEYGEN bodies without their COSE attestation too (then only the CSR signature is checked)",
    )
    .option("--days <n>", "certificate validity in days", "3650")
    .option("--device-id <id>", "expected device ID (must equal the CSR's CN; single input only)")
    .addOption(
      new Option("--profile <profile>", "certificate profile")
        .choices(["default", "minimal"])
        .default("default"),
    )
    .option("--out <file>", "write the certificate PEM here (single input)")
    .option("--out-dir <dir>", "batch output directory")
    .option("--force", "replace existing output files (never a CA file or a symbolic link)")
    .option("--workers <n>", "worker threads for batches (default and most: all cores)")
    .option("--json", "print one JSON document")
    .action(async (flags: IssueFlags) => issueCommand(ctx, flags));

  ca.command("ledger")
    .description("List certificates the CA issued; --csv exports RegisterCertificates rows.")
    .requiredOption("--dir <dir>", "CA directory")
    .option("--device <id>", "only this device ID")
    .option("--json", "print one JSON document")
    .option("--csv", 'print RegisterCertificates CSV (deviceId,"PEM")')
    .action((flags: { dir: string; device?: string; json?: boolean; csv?: boolean }) =>
      ledgerAction(ctx, flags),
    );
}

async function initAction(ctx: cli.CliContext, flags: InitFlags): Promise<void> {
  const days = cli.parseIntegerOption("--days", flags.days, { min: 1, max: 36_500 });
  const passphrase = flags.insecureNoPassphrase ? null : await newCaPassphrase(ctx.io);
  if (passphrase === null) {
    ctx.io.stderr.write(
      "WARNING: --insecure-no-passphrase: the CA private key is stored UNENCRYPTED. Anyone who can read it can issue certificates your devices and nRF Cloud will trust. Use this for tests only.\n",
    );
  }
  const info = await initCa({
    dir: resolve(ctx.io.cwd, flags.dir),
    passphrase,
    commonName: flags.cn,
    organization: flags.org,
    country: flags.country,
    days,
  });
  if (flags.json) return cli.writeJson(ctx.io, { ok: true, ca: caJson(info, 0) });
  cli.writeLines(
    ctx.io,
    `Created CA "${info.subject}" in ${info.dir}`,
    `  certificate  ${info.files.certificate}`,
    `  private key  ${info.files.privateKey} (${passphrase === null ? "UNENCRYPTED" : "encrypted PKCS#8"}, mode 0600)`,
    `  valid until  ${info.notAfter.toISOString()}`,
    `  SHA-256      ${info.sha256Fingerprint}`,
    "Back up the whole directory (and the passphrase, separately): without the key no certificate can be issued or re-issued under this CA.",
  );
}

async function showAction(
  ctx: cli.CliContext,
  flags: { dir: string; json?: boolean },
): Promise<void> {
  const info = await readCaInfo(resolve(ctx.io.cwd, flags.dir));
  const issued = await countIssued(info);
  if (flags.json) {
    return cli.writeJson(ctx.io, { ok: true, ca: caJson(info, issued) });
  }
  cli.writeLines(
    ctx.io,
    `subject      ${info.subject}`,
    `serial       ${info.serialNumber}`,
    `not before   ${info.notBefore.toISOString()}`,
    `not after    ${info.notAfter.toISOString()}`,
    `SHA-256      ${info.sha256Fingerprint}`,
    `issued       ${issued} certificate${issued === 1 ? "" : "s"}`,
    `directory    ${info.dir}`,
  );
}

async function ledgerAction(
  ctx: cli.CliContext,
  flags: { dir: string; device?: string; json?: boolean; csv?: boolean },
): Promise<void> {
  if (flags.json && flags.csv) throw cli.usageError("--json and --csv cannot be combined");
  const info = await readCaInfo(resolve(ctx.io.cwd, flags.dir));
  const { entries, damagedLines } = await readLedger(info.files.ledger);
  const matching = entries.filter((e) => flags.device === undefined || e.deviceId === flags.device);
  if (damagedLines > 0) {
    ctx.io.stderr.write(
      `warning: ${damagedLines} damaged ledger line(s) skipped (torn writes of an interrupted process); they are not counted.\n`,
    );
  }
  if (flags.csv) return void ctx.io.stdout.write(registerCertificatesCsv(matching));
  if (flags.json)
    return cli.writeJson(ctx.io, { ok: true, count: matching.length, entries: matching });
  if (matching.length === 0) return cli.writeLines(ctx.io, "no certificates");
  cli.writeLines(
    ctx.io,
    ...matching.map((e) => `${e.issuedAt}  ${e.serialNumber}  ${e.deviceId}  until ${e.notAfter}`),
  );
}

interface DelegateFlags {
  rootDir: string;
  station: string;
  outDir: string;
  days: string;
  insecureNoPassphrase?: boolean;
  json?: boolean;
}

/** `ca delegate`: a station's intermediate CA, signed by the line's root. */
function registerDelegate(ca: Command, ctx: cli.CliContext): void {
  ca.command("delegate")
    .description(
      `Issue a station's intermediate CA under the root in --root-dir (root passphrase: ${ROOT_CA_PASSPHRASE_ENV}; the station CA's: ${CA_PASSPHRASE_ENV}).`,
    )
    .requiredOption("--root-dir <dir>", "the line's root CA directory (made by ca init)")
    .requiredOption("--station <id>", "station ID, named in the intermediate's subject")
    .requiredOption("--out-dir <dir>", "new station CA directory (must not hold a CA)")
    .option("--days <n>", "validity in days (never past the root's)", "365")
    .option("--insecure-no-passphrase", "store the station CA key UNENCRYPTED (test set-ups only)")
    .option("--json", "print one JSON document")
    .action(async (flags: DelegateFlags) => {
      const days = cli.parseIntegerOption("--days", flags.days, { min: 1, max: 36_500 });
      const root = await openCaWithPassphrase(ctx.io, flags.rootDir, {
        env: ROOT_CA_PASSPHRASE_ENV,
        prompt: "Root CA passphrase: ",
      });
      try {
        const passphrase = flags.insecureNoPassphrase ? null : await newCaPassphrase(ctx.io);
        if (passphrase !== null && passphrase === ctx.io.env[ROOT_CA_PASSPHRASE_ENV]) {
          ctx.io.stderr.write(
            `warning: the station CA gets the root's passphrase: whoever runs the station could unlock the root. Give ${CA_PASSPHRASE_ENV} a passphrase of its own.\n`,
          );
        }
        const info = await delegateCa({
          root,
          station: flags.station,
          dir: resolve(ctx.io.cwd, flags.outDir),
          passphrase,
          days,
        });
        if (flags.json) return cli.writeJson(ctx.io, { ok: true, ca: caJson(info, 0) });
        cli.writeLines(
          ctx.io,
          `Created station CA "${info.subject}" in ${info.dir}, signed by "${root.info.subject}"`,
          `  certificate  ${info.files.certificate} (intermediate, pathLen 0)`,
          `  private key  ${info.files.privateKey} (${passphrase === null ? "UNENCRYPTED" : "encrypted PKCS#8"}, mode 0600)`,
          `  root         ${join(info.dir, DELEGATED_ROOT_FILE)}`,
          `  serial       ${info.serialNumber}`,
          `  valid until  ${info.notAfter.toISOString()}`,
          `Use it on the station with --ca-dir ${flags.outDir}; keep the root directory offline.`,
        );
      } finally {
        await root.close();
      }
    });

  // The production line (issue 14): refusing one station's CA in the shared store.
  registerRevokeStation(ca, ctx);
}

interface InitFlags {
  dir: string;
  cn?: string;
  org?: string;
  country?: string;
  days: string;
  insecureNoPassphrase?: boolean;
  json?: boolean;
}

interface IssueFlags {
  dir: string;
  csr?: string[];
  keygen?: string;
  keygenFile?: string;
  allowUnattested?: boolean;
  days: string;
  deviceId?: string;
  profile: CertificateProfile;
  out?: string;
  outDir?: string;
  workers?: string;
  force?: boolean;
  json?: boolean;
}

async function issueCommand(ctx: cli.CliContext, flags: IssueFlags): Promise<void> {
  const days = cli.parseIntegerOption("--days", flags.days, { min: 1, max: 36_500 });
  const items = await readInputs(ctx.io, flags);
  if (items.length === 0)
    throw cli.usageError("no input: give --csr FILE, --keygen BLOB or --keygen-file FILE");
  const batch = flags.outDir !== undefined;
  if (!batch && items.length > 1) {
    throw cli.usageError(`${items.length} inputs given: use --out-dir DIR to issue a batch`);
  }
  if (batch && (flags.out !== undefined || flags.deviceId !== undefined)) {
    throw cli.usageError("--out and --device-id apply to a single input, not to --out-dir batches");
  }
  const workers = flags.workers === undefined ? undefined : workersOption(ctx, flags.workers);
  const force = flags.force === true;
  const out = flags.out === undefined ? undefined : resolve(ctx.io.cwd, flags.out);
  // Refuse before the CA is opened: a certificate issued for a file that cannot be written
  // would be in the ledger for nothing.
  if (out !== undefined) {
    await requireFolder(dirname(out));
    await refuseExisting([out], { force });
  }
  if (batch) await refuseBatchOutputs(resolve(ctx.io.cwd, flags.outDir!), force);
  const ca = await openCaWithPassphrase(ctx.io, flags.dir);
  try {
    if (batch) {
      await issueBatchCommand(ctx, ca, items, {
        days,
        profile: flags.profile,
        outDir: resolve(ctx.io.cwd, flags.outDir!),
        workers,
        force,
        json: flags.json === true,
      });
      return;
    }
    const item = items[0]!;
    const input = item.input.kind === "csr" ? item.input.der : parseKeygenOutput(item.input.text);
    const certificate = await issueDeviceCertificate(ca, input, {
      days,
      profile: flags.profile,
      deviceId: flags.deviceId,
    });
    if (out !== undefined) {
      await writeNewFile(out, certificate.pem, { force }).catch((error: unknown) => {
        throw outputFailed(error, ca, [certificate], []);
      });
    }
    if (flags.json)
      return cli.writeJson(ctx.io, { ok: true, certificate: certificateJson(certificate) });
    if (flags.out === undefined) ctx.io.stdout.write(certificate.pem);
    ctx.io.stderr.write(
      `Issued certificate ${certificate.serialNumber} for device ${certificate.deviceId}, valid until ${certificate.notAfter.toISOString()}${flags.out === undefined ? "" : ` → ${flags.out}`}\n`,
    );
  } finally {
    await ca.close();
  }
}

async function issueBatchCommand(
  ctx: cli.CliContext,
  ca: CertificateAuthority,
  items: BatchItem[],
  settings: {
    days: number;
    profile: CertificateProfile;
    outDir: string;
    workers: number | undefined;
    force: boolean;
    json: boolean;
  },
): Promise<void> {
  await ensureDirectory(settings.outDir);
  const started = Date.now();
  let done = 0;
  const showProgress = ctx.io.isTTY && !settings.json;
  const results = await issueBatch(ca, items, {
    days: settings.days,
    profile: settings.profile,
    workers: settings.workers,
    onResult: () => {
      done++;
      if (showProgress && (done % 100 === 0 || done === items.length)) {
        ctx.io.stderr.write(`\r${done}/${items.length} processed`);
      }
    },
  });
  if (showProgress) ctx.io.stderr.write("\n");
  const issued = results.flatMap((r) => (r.ok ? [r.certificate] : []));
  const failures = results.flatMap((r) => (r.ok ? [] : [{ input: r.label, ...r.error }]));
  const csvFiles = await writeBatchFiles(ca, settings.outDir, issued, settings.force);
  if (failures.length > 0) ctx.exitCode = ExitCode.CA;
  const seconds = (Date.now() - started) / 1000;
  if (settings.json) {
    return cli.writeJson(ctx.io, {
      ok: failures.length === 0,
      issued: issued.length,
      failed: failures.length,
      outDir: settings.outDir,
      csvFiles,
      failures,
    });
  }
  for (const failure of failures)
    ctx.io.stderr.write(`${failure.input}: ${failure.message} [${failure.code}]\n`);
  cli.writeLines(
    ctx.io,
    `Issued ${issued.length} of ${items.length} certificates in ${seconds.toFixed(1)} s into ${settings.outDir}${failures.length > 0 ? ` (${failures.length} failed, listed above)` : ""}`,
    ...csvFiles.map((file) => `  RegisterCertificates CSV: ${file}`),
  );
}

/** More signing threads than cores only add contention (and memory): capped, with a warning. */
function workersOption(ctx: cli.CliContext, value: string): number {
  const requested = cli.parseIntegerOption("--workers", value, { min: 1 });
  const cores = availableParallelism();
  if (requested <= cores) return requested;
  ctx.io.stderr.write(
    `warning: --workers ${requested} is more than the ${cores} cores of this machine; using ${cores}.\n`,
  );
  return cores;
}

/** Reads every input: CSR files (one or several PEM blocks, or DER) and KEYGEN lines. */
async function readInputs(io: CliIo, flags: IssueFlags): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  for (const file of flags.csr ?? []) {
    items.push(...csrFileItems(file, await readInputFile(io, "--csr", file)));
  }
  const allowUnattested = flags.allowUnattested === true;
  if (flags.keygen !== undefined) items.push(keygenItem("--keygen", flags.keygen, allowUnattested));
  if (flags.keygenFile !== undefined) {
    const content = (await readInputFile(io, "--keygen-file", flags.keygenFile)).toString("utf8");
    items.push(...keygenFileItems(flags.keygenFile, content, allowUnattested));
  }
  return items;
}

function caJson(info: CaInfo, issued: number) {
  return {
    dir: info.dir,
    subject: info.subject,
    serialNumber: info.serialNumber,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    sha256Fingerprint: info.sha256Fingerprint,
    issued,
    files: info.files,
  };
}

function certificateJson(certificate: IssuedCertificate) {
  return {
    deviceId: certificate.deviceId,
    serialNumber: certificate.serialNumber,
    sha256Fingerprint: certificate.sha256Fingerprint,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    pem: certificate.pem,
  };
}
