import { dirname, resolve } from "node:path";
import { type Command, Option } from "commander";
import { DEVICE_ID_RULE } from "../../device-id/index.js";
import {
  DEFAULT_JWT_LIFETIME_SECONDS,
  decodeDeviceJwt,
  JwtError,
  MAX_JWT_LIFETIME_SECONDS,
  mintBatch,
  mintDeviceJwt,
  numberedDeviceIds,
  parseMintBatch,
  toDevicePrivateKey,
  toDevicePublicKey,
  verifyDeviceJwt,
  writeDeviceKeyPairs,
} from "../../jwt/index.js";
import * as cli from "../context.js";
import { readInputText } from "../io.js";

interface KeygenOptions {
  device?: string;
  count?: string;
  prefix?: string;
  start: string;
  outDir: string;
  csv?: string;
  json?: boolean;
}

interface MintOptions {
  key?: string;
  device?: string;
  batch?: string;
  lifetime: string;
  kid?: boolean;
  json?: boolean;
}

interface VerifyOptions {
  token: string;
  key?: string;
  cert?: string;
  device?: string;
  json?: boolean;
}

/** Registers `jwt keygen | mint | verify | decode`: software device keys and device JWTs. */
export function register(program: Command, ctx: cli.CliContext): void {
  const jwt = program
    .command("jwt")
    .description(
      "Software device keys and ES256 device JWTs for nRF Cloud (test devices, load tests).",
    );

  jwt
    .command("keygen")
    .description(
      "Generate P-256 device key pairs (<id>.key.pem mode 0600, <id>.pub.pem); never overwrites.",
    )
    .addOption(
      new Option("--device <id>", `one device ID: ${DEVICE_ID_RULE}`).conflicts([
        "count",
        "prefix",
      ]),
    )
    .option(
      "--count <n>",
      "number of test devices, IDs <prefix><n> zero-padded (e.g. dev-01 … dev-10)",
    )
    .option("--prefix <prefix>", "device ID prefix for --count")
    .option("--start <n>", "first number for --count", "1")
    .requiredOption("--out-dir <dir>", "directory for the key files (created if missing)")
    .option("--csv <file>", "also write the RegisterPublicKeys CSV (for `cloud register-keys`)")
    .option("--json", "print the written files as JSON")
    .action((options: KeygenOptions) => keygenAction(ctx, options));

  jwt
    .command("mint")
    .description("Mint ES256 device JWTs: one (--key, --device) or many (--batch, JSON lines out).")
    .addOption(
      new Option("--key <file>", "device private key PEM (PKCS#8 or SEC1)").conflicts("batch"),
    )
    .addOption(new Option("--device <id>", "device ID (the sub claim)").conflicts("batch"))
    .option("--batch <file>", "CSV of deviceId,keyPath lines (paths relative to the CSV)")
    .option(
      "--lifetime <seconds>",
      `seconds until exp, at most ${MAX_JWT_LIFETIME_SECONDS} (7 days)`,
      String(DEFAULT_JWT_LIFETIME_SECONDS),
    )
    .option("--kid", "add kid = SHA-256 of the public key (as nRF91 firmware does)")
    .option("--json", "print {token, header, claims}")
    .action((options: MintOptions) => mintAction(ctx, options));

  jwt
    .command("verify")
    .description(
      "Verify a device JWT by nRF Cloud's device-JWT rules; exits 1 with the reason if invalid.",
    )
    .requiredOption("--token <jwt>", "the token, or - to read it from stdin")
    .addOption(new Option("--key <file>", "device public key PEM (SPKI)").conflicts("cert"))
    .option("--cert <file>", "device certificate PEM (its public key is used)")
    .option("--device <id>", "require sub = this device ID")
    .option("--json", "print {valid, header, claims}")
    .action((options: VerifyOptions) => verifyAction(ctx, options));

  jwt
    .command("decode")
    .description("Print a JWT's header and claims without verifying it.")
    .requiredOption("--token <jwt>", "the token, or - to read it from stdin")
    .option("--json", "same output (always JSON)")
    .action((options: { token: string }) => decodeAction(ctx, options));
}

async function keygenAction(ctx: cli.CliContext, options: KeygenOptions): Promise<void> {
  const deviceIds = keygenDeviceIds(options);
  const outDir = resolve(ctx.io.cwd, options.outDir);
  const csvPath = options.csv === undefined ? undefined : resolve(ctx.io.cwd, options.csv);
  const written = await writeDeviceKeyPairs(outDir, deviceIds, { csvPath });
  if (options.json) {
    cli.writeJson(ctx.io, {
      devices: written.map(({ deviceId, privateKeyPath, publicKeyPath }) => ({
        deviceId,
        privateKeyPath,
        publicKeyPath,
      })),
      csvPath: csvPath ?? null,
    });
    return;
  }
  const lines =
    written.length === 1 && written[0]
      ? [`wrote ${written[0].privateKeyPath}`, `wrote ${written[0].publicKeyPath}`]
      : [`wrote ${written.length} device key pairs to ${outDir}`];
  if (csvPath) {
    lines.push(`wrote ${csvPath} (upload: nrf-provision cloud register-keys --csv ${csvPath})`);
  }
  cli.writeLines(ctx.io, ...lines);
}

async function mintAction(ctx: cli.CliContext, options: MintOptions): Promise<void> {
  const lifetimeSeconds = cli.parseIntegerOption("--lifetime", options.lifetime, {
    min: 1,
    max: MAX_JWT_LIFETIME_SECONDS,
  });
  const kid = options.kid === true;
  if (options.batch !== undefined) {
    const rows = parseMintBatch(
      await readInputText(ctx.io, "--batch", options.batch),
      dirname(resolve(ctx.io.cwd, options.batch)),
      options.batch,
    );
    for await (const minted of mintBatch(rows, { lifetimeSeconds, kid })) {
      ctx.io.stdout.write(`${JSON.stringify(minted)}\n`);
    }
    return;
  }
  if (options.key === undefined || options.device === undefined) {
    throw cli.usageError("jwt mint needs --key FILE and --device ID, or --batch FILE.csv");
  }
  const privateKey = await readKeyFile(ctx, "--key", options.key, toDevicePrivateKey);
  const token = mintDeviceJwt({ privateKey, deviceId: options.device, lifetimeSeconds, kid });
  if (options.json) cli.writeJson(ctx.io, { token, ...decodeDeviceJwt(token) });
  else cli.writeLines(ctx.io, token);
}

async function verifyAction(ctx: cli.CliContext, options: VerifyOptions): Promise<void> {
  const keyFile = options.key ?? options.cert;
  if (keyFile === undefined) throw cli.usageError("jwt verify needs --key FILE or --cert FILE");
  const flag = options.key === undefined ? "--cert" : "--key";
  const publicKey = await readKeyFile(ctx, flag, keyFile, toDevicePublicKey);
  const token = await readTokenOption(options.token, ctx);
  const { header, claims } = await verifyDeviceJwt(token, {
    publicKey,
    deviceId: options.device,
  });
  if (options.json) {
    cli.writeJson(ctx.io, { valid: true, header, claims });
    return;
  }
  cli.writeLines(
    ctx.io,
    `valid: ES256 token for device ${claims.sub}, expires ${new Date(claims.exp * 1000).toISOString()}`,
  );
}

async function decodeAction(ctx: cli.CliContext, options: { token: string }): Promise<void> {
  cli.writeJson(ctx.io, decodeDeviceJwt(await readTokenOption(options.token, ctx)));
}

function keygenDeviceIds(options: KeygenOptions): string[] {
  if (options.device !== undefined) return [options.device];
  if (options.count === undefined || options.prefix === undefined) {
    throw cli.usageError("jwt keygen needs --device ID, or --count N with --prefix P");
  }
  const count = cli.parseIntegerOption("--count", options.count, { min: 1, max: 100_000 });
  const start = cli.parseIntegerOption("--start", options.start, { min: 0 });
  return numberedDeviceIds(options.prefix, count, start);
}

/** Reads a key (or certificate) file named by `flag` and parses it; errors name both. */
async function readKeyFile<T>(
  ctx: cli.CliContext,
  flag: string,
  file: string,
  parse: (pem: string) => T,
): Promise<T> {
  const pem = await readInputText(ctx.io, flag, file);
  try {
    return parse(pem);
  } catch (error) {
    if (!(error instanceof JwtError)) throw error;
    throw new JwtError(error.code, `${flag} ${file}: ${error.message}`, {
      cause: error,
      details: { ...error.details, option: flag, file },
    });
  }
}

/** `--token -` reads the token from stdin, so it can be piped and stays out of process lists. */
async function readTokenOption(value: string, ctx: cli.CliContext): Promise<string> {
  if (value !== "-") return value.trim();
  let text = "";
  for await (const chunk of ctx.io.stdin) text += String(chunk);
  return text.trim();
}
