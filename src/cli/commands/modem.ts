import { resolve } from "node:path";
import { type Command, Option } from "commander";
import type { AtClient, AtClientOptions } from "../../at/index.js";
import { ensureDirectory, FileError, writeNewFile } from "../../files/index.js";
import {
  assertShellCanCarry,
  CREDENTIAL_TYPES,
  checkFirmwareSupportsKeygen,
  credentialTypeName,
  deleteCredential,
  getFunctionalMode,
  type KeygenOptions,
  keygen,
  keygenCommand,
  type LineEndings,
  listCredentials,
  MAX_USER_SEC_TAG,
  type ModemKeygenResult,
  modemJwt,
  parseCredentialType,
  readFirmware,
  readIdentity,
  withOfflineMode,
  writeCredential,
} from "../../modem/index.js";
import * as cli from "../context.js";
import { readInputText } from "../io.js";
import { addLinkOptions, boardFromFlags, type LinkCliOptions } from "../link-options.js";
import { addOutDirOptions } from "../out-dir-options.js";

/** Options every `modem` command takes to reach the board. */
interface ConnectionOptions extends LinkCliOptions {
  port: string;
  json?: boolean;
}

/** `modem keygen` flags. */
interface KeygenCliOptions extends ConnectionOptions {
  secTag: string;
  publicKey?: boolean;
  attributes?: string;
  keyUsage?: string;
  outDir?: string;
  force?: boolean;
  replace?: boolean;
}

/** `modem creds list` flags. */
interface ListCliOptions extends ConnectionOptions {
  secTag?: string;
  all?: boolean;
}

/** `modem creds write` flags. */
interface WriteCliOptions extends ConnectionOptions {
  secTag: string;
  type: string;
  file: string;
  lineEndings: LineEndings;
  shellLfUnescape: boolean;
}

/** `modem creds delete` flags. */
interface DeleteCliOptions extends ConnectionOptions {
  secTag: string;
  type: string;
  ignoreMissing?: boolean;
}

/** `modem jwt` flags. */
interface JwtCliOptions extends ConnectionOptions {
  secTag?: string;
  subject?: string;
  audience?: string;
  lifetime: string;
}

function withConnectionOptions(command: Command): Command {
  return addLinkOptions(
    command.requiredOption(
      "--port <path>",
      'serial port of the modem, or "auto" for the only attached board',
    ),
  ).option("--json", "print one JSON document");
}

/** Opens the port and an AT session, runs `work`, and always closes the port afterwards. */
async function withModem<T>(
  ctx: cli.CliContext,
  options: ConnectionOptions,
  work: (at: AtClient) => Promise<T>,
  clientOptions: Pick<AtClientOptions, "shellLfUnescape"> = {},
): Promise<T> {
  const board = await boardFromFlags(options, ctx.io, clientOptions);
  const at = await board.open();
  try {
    return await work(at);
  } finally {
    await at.close();
  }
}

/**
 * A user sec tag (0…2147483647). Larger tags belong to the modem (its own keys in
 * 4294967292–4294967294, TLS sessions): refused here, before the port is even opened.
 */
function parseSecTag(value: string): number {
  const secTag = cli.parseIntegerOption("--sec-tag", value, { min: 0 });
  if (secTag > MAX_USER_SEC_TAG) {
    throw cli.usageError(
      `--sec-tag ${secTag} is reserved for the modem (user sec tags are 0…${MAX_USER_SEC_TAG}); the modem's own entries cannot be written or deleted, and nothing was sent`,
    );
  }
  return secTag;
}

/** A keygen result as JSON: binary fields as base64. */
function keygenJson(result: ModemKeygenResult): Record<string, unknown> {
  return {
    ...result,
    der: Buffer.from(result.der).toString("base64"),
    cose: Buffer.from(result.cose).toString("base64"),
  };
}

/** Device ID as nRF Cloud will know it: the CSR CN, else the modem's device UUID. */
function deviceIdOf(result: ModemKeygenResult): string {
  return result.csr?.commonName ?? result.deviceUuid;
}

/**
 * `<device ID>.sectag<N>.csr.pem` (or `.pub.pem`) and `<device ID>.sectag<N>.keygen.txt`: the
 * sec tag is in the name so keys of two sec tags of one modem never share a file.
 */
async function writeKeygenFiles(
  dir: string,
  result: ModemKeygenResult,
  force: boolean,
): Promise<string[]> {
  await ensureDirectory(dir);
  // The CN is modem output: keep it from naming a path outside the directory.
  const base = `${deviceIdOf(result).replace(/[^\w.@-]/g, "_")}.sectag${result.secTag}`;
  const pemPath = resolve(dir, `${base}.${result.kind === "csr" ? "csr" : "pub"}.pem`);
  const rawPath = resolve(dir, `${base}.keygen.txt`);
  await writeNewFile(pemPath, result.pem, { force });
  await writeNewFile(rawPath, `${result.response}\n`, { force });
  return [pemPath, rawPath];
}

/** Registers the `modem` commands. */
export function register(program: Command, ctx: cli.CliContext): void {
  const modem = program
    .command("modem")
    .description("Talk to an nRF91 modem: identity, key generation, credentials, JWTs");

  withConnectionOptions(
    modem.command("info").description("Show IMEI, model, firmware, device UUID and +CFUN mode"),
  ).action((options: ConnectionOptions) => infoAction(ctx, options));

  registerKeygen(modem, ctx);
  registerCreds(modem, ctx);
  registerJwt(modem, ctx);
}

/** `modem keygen`. */
function registerKeygen(modem: Command, ctx: cli.CliContext): void {
  const keygen = withConnectionOptions(
    modem
      .command("keygen")
      .description("Generate a key pair in a sec tag (offline for the duration) and get its CSR"),
  )
    .requiredOption("--sec-tag <n>", "sec tag to generate the key in")
    .option("--public-key", "return the public key instead of a CSR")
    .option("--attributes <subject>", 'CSR subject attributes, e.g. "CN=nrf-352656100367872"')
    .option("--key-usage <bits>", '9-character key usage bit string, e.g. "101010000"')
    .option(
      "--replace",
      "delete the client key already in the sec tag first (some firmware refuses to overwrite it)",
    );
  addOutDirOptions(
    keygen,
    "write <device id>.sectag<N>.csr.pem (or .pub.pem) and the raw output here",
  ).action((options: KeygenCliOptions) => keygenAction(ctx, options));
}

/** `modem creds list | write | delete`. */
function registerCreds(modem: Command, ctx: cli.CliContext): void {
  const creds = modem.command("creds").description("List, write and delete stored credentials");

  withConnectionOptions(creds.command("list").description("List credentials with their SHA-256"))
    .option("--sec-tag <n>", "only this sec tag")
    .option("--all", "also list the modem's own entries in reserved sec tags (above 2147483647)")
    .action((options: ListCliOptions) => listAction(ctx, options));

  withConnectionOptions(
    creds
      .command("write")
      .description("Store a credential (offline for the duration) and verify it by its hash"),
  )
    .requiredOption("--sec-tag <n>", "sec tag to write to")
    .requiredOption("--type <type>", "root-ca, client-cert, client-key, … or a number")
    .requiredOption("--file <path>", "PEM (or other content) to store")
    .addOption(
      new Option(
        "--line-endings <kind>",
        "line endings of the stored bytes (shell firmware always stores CR LF)",
      )
        .choices(["lf", "crlf", "keep"])
        .default("lf"),
    )
    .option(
      "--no-shell-lf-unescape",
      "the shell firmware lacks CONFIG_AT_SHELL_UNESCAPE_LF: refuse multi-line writes in shell mode before sending",
    )
    .action((options: WriteCliOptions) => writeAction(ctx, options));

  withConnectionOptions(
    creds.command("delete").description("Delete a credential (offline for the duration)"),
  )
    .requiredOption("--sec-tag <n>", "sec tag to delete from")
    .requiredOption("--type <type>", "root-ca, client-cert, client-key, … or a number")
    .option("--ignore-missing", "succeed when nothing is stored there")
    .action((options: DeleteCliOptions) => deleteAction(ctx, options));
}

/** `modem jwt`. */
function registerJwt(modem: Command, ctx: cli.CliContext): void {
  withConnectionOptions(
    modem.command("jwt").description("Have the modem sign a JWT (needs modem time)"),
  )
    .option("--sec-tag <n>", "sign with the client key in this sec tag (default: identity key)")
    .option("--subject <sub>", "sub claim")
    .option("--audience <aud>", "aud claim")
    .option("--lifetime <seconds>", "seconds until exp (0: no iat/exp)", "0")
    .action((options: JwtCliOptions) => jwtAction(ctx, options));
}

async function keygenAction(ctx: cli.CliContext, options: KeygenCliOptions): Promise<void> {
  const request: KeygenOptions = {
    secTag: parseSecTag(options.secTag),
    content: options.publicKey ? "public-key" : "csr",
    attributes: options.attributes,
    keyUsage: options.keyUsage,
  };
  keygenCommand(request); // refuses bad attributes before the port is even opened
  const result = await withModem(ctx, options, async (at) => {
    checkFirmwareSupportsKeygen(await readFirmware(at));
    return withOfflineMode(at, async () => {
      if (options.replace) {
        await deleteCredential(at, {
          secTag: request.secTag,
          type: CREDENTIAL_TYPES["client-key"],
          ignoreMissing: true,
        });
      }
      return keygen(at, request);
    });
  });
  const files =
    options.outDir === undefined
      ? []
      : await writeKeygenFiles(
          resolve(ctx.io.cwd, options.outDir),
          result,
          options.force === true,
        ).catch((error: unknown) => {
          // The key now lives in the sec tag: the CSR must not be lost with the file.
          if (error instanceof FileError) ctx.io.stdout.write(result.pem);
          throw error;
        });
  if (options.json) return cli.writeJson(ctx.io, { ...keygenJson(result), files });
  cli.writeLines(
    ctx.io,
    `device ID: ${deviceIdOf(result)} (device UUID ${result.deviceUuid}, sec tag ${result.secTag})`,
    `digest:    ${result.digest} (${result.digestStatus})`,
    ...files.map((file) => `wrote ${file}`),
    result.pem.trimEnd(),
  );
}

async function writeAction(ctx: cli.CliContext, options: WriteCliOptions): Promise<void> {
  const secTag = parseSecTag(options.secTag);
  const type = parseCredentialType(options.type);
  const content = await readInputText(ctx.io, "--file", options.file);
  const where = `sec tag ${secTag} type ${credentialTypeName(type)}`;
  const shellLfUnescape = options.shellLfUnescape;
  // Known shell firmware without the LF unescape: refuse before the port is opened.
  if (options.mode === "shell") {
    assertShellCanCarry({ mode: "shell", portName: options.port, shellLfUnescape }, content, where);
  }
  const result = await withModem(
    ctx,
    options,
    async (at) => {
      // Auto-detected shell: refuse before anything but the probe was sent.
      assertShellCanCarry(at, content, where);
      const firmware = await readFirmware(at);
      return withOfflineMode(at, () =>
        writeCredential(at, {
          secTag,
          type,
          content,
          lineEndings: options.lineEndings,
          firmware,
        }),
      );
    },
    { shellLfUnescape },
  );
  if (options.json) {
    return cli.writeJson(ctx.io, { secTag, type, typeName: credentialTypeName(type), ...result });
  }
  cli.writeLines(
    ctx.io,
    `wrote sec tag ${secTag} ${credentialTypeName(type)}: ${result.bytes} bytes, SHA-256 ${result.sha256}, verified by ${result.verification}`,
  );
}

async function deleteAction(ctx: cli.CliContext, options: DeleteCliOptions): Promise<void> {
  const secTag = parseSecTag(options.secTag);
  const type = parseCredentialType(options.type);
  const deleted = await withModem(ctx, options, (at) =>
    withOfflineMode(at, () =>
      deleteCredential(at, { secTag, type, ignoreMissing: options.ignoreMissing === true }),
    ),
  );
  if (options.json) {
    return cli.writeJson(ctx.io, { secTag, type, typeName: credentialTypeName(type), deleted });
  }
  cli.writeLines(
    ctx.io,
    deleted
      ? `deleted sec tag ${secTag} ${credentialTypeName(type)}`
      : `nothing stored in sec tag ${secTag} ${credentialTypeName(type)}`,
  );
}

async function jwtAction(ctx: cli.CliContext, options: JwtCliOptions): Promise<void> {
  const lifetimeSeconds = cli.parseIntegerOption("--lifetime", options.lifetime, { min: 0 });
  const secTag = options.secTag === undefined ? undefined : parseSecTag(options.secTag);
  const jwt = await withModem(ctx, options, (at) =>
    modemJwt(at, {
      lifetimeSeconds,
      secTag,
      subject: options.subject,
      audience: options.audience,
    }),
  );
  if (options.json) return cli.writeJson(ctx.io, jwt);
  cli.writeLines(ctx.io, jwt.token);
}

async function infoAction(ctx: cli.CliContext, options: ConnectionOptions): Promise<void> {
  const info = await withModem(ctx, options, async (at) => ({
    ...(await readIdentity(at)),
    functionalMode: await getFunctionalMode(at),
  }));
  if (options.json) return cli.writeJson(ctx.io, info);
  cli.writeLines(
    ctx.io,
    `IMEI:            ${info.imei}`,
    `model:           ${info.model}`,
    `firmware:        ${info.firmware}`,
    `device UUID:     ${info.deviceUuid}`,
    `functional mode: ${info.functionalMode}`,
  );
}

async function listAction(ctx: cli.CliContext, options: ListCliOptions): Promise<void> {
  const secTag = options.secTag === undefined ? undefined : parseSecTag(options.secTag);
  const entries = await withModem(ctx, options, (at) =>
    listCredentials(at, {
      secTag,
      includeReserved: options.all === true,
    }),
  );
  if (options.json) return cli.writeJson(ctx.io, entries);
  if (entries.length === 0) return cli.writeLines(ctx.io, "no credentials stored");
  cli.writeLines(
    ctx.io,
    ...entries.map(
      (entry) =>
        `${String(entry.secTag).padEnd(11)} ${entry.typeName.padEnd(26)} ${entry.sha256 ?? "(no hash on this firmware)"}${entry.secTag > MAX_USER_SEC_TAG ? "  (the modem's own)" : ""}`,
    ),
  );
}
