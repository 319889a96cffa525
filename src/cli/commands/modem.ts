import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { type AtClient, type AtTerminator, openAtClient } from "../../at/index.js";
import { ensureDirectory, FileError, writeNewFile } from "../../files/index.js";
import {
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
  redactAtCommandForLog,
  withOfflineMode,
  writeCredential,
} from "../../modem/index.js";
import { openSerialTransport, portListerFromEnv, resolvePort } from "../../serial/index.js";
import { type CliContext, parseIntegerOption, writeJson, writeLines } from "../context.js";

/** Options every `modem` command takes to reach the board. */
interface ConnectionOptions {
  port: string;
  baud: string;
  rtscts: boolean;
  terminator: "cr" | "lf" | "crlf";
  mode: "auto" | "at" | "shell";
  timeoutMs?: string;
  verbose?: boolean;
  json?: boolean;
}

const terminators: Record<ConnectionOptions["terminator"], AtTerminator> = {
  cr: "\r",
  lf: "\n",
  crlf: "\r\n",
};

function withConnectionOptions(command: Command): Command {
  return command
    .requiredOption(
      "--port <path>",
      'serial port of the modem, or "auto" for the only attached board',
    )
    .option("--baud <rate>", "baud rate", "115200")
    .option("--no-rtscts", "disable RTS/CTS hardware flow control")
    .addOption(
      new Option("--terminator <kind>", "command terminator the firmware expects")
        .choices(["cr", "lf", "crlf"])
        .default("crlf"),
    )
    .addOption(
      new Option("--mode <mode>", "plain AT or shell (Modem Shell) firmware; auto probes")
        .choices(["auto", "at", "shell"])
        .default("auto"),
    )
    .option(
      "--timeout-ms <ms>",
      "timeout of ordinary AT commands (key generation keeps 60 s, credential writes 20 s)",
    )
    .option("--verbose", "log the AT traffic to stderr")
    .option("--json", "print one JSON document");
}

/** Opens the port and an AT session, runs `work`, and always closes the port afterwards. */
async function withModem<T>(
  ctx: CliContext,
  options: ConnectionOptions,
  work: (at: AtClient) => Promise<T>,
): Promise<T> {
  const baudRate = parseIntegerOption("--baud", options.baud, { min: 1 });
  const timeoutMs =
    options.timeoutMs === undefined
      ? undefined
      : parseIntegerOption("--timeout-ms", options.timeoutMs, { min: 1 });
  const path = await resolvePort(options.port, { lister: portListerFromEnv(ctx.io.env) });
  const transport = await openSerialTransport(path, { baudRate, rtscts: options.rtscts });
  const log = options.verbose
    ? (direction: "tx" | "rx", text: string) =>
        ctx.io.stderr.write(`${direction === "tx" ? ">>" : "<<"} ${redactAtCommandForLog(text)}\n`)
    : undefined;
  // openAtClient closes the transport itself when it fails.
  const at = await openAtClient(transport, {
    mode: options.mode,
    terminator: terminators[options.terminator],
    ...(timeoutMs === undefined ? {} : { defaultTimeoutMs: timeoutMs }),
    ...(log === undefined ? {} : { log }),
  });
  try {
    return await work(at);
  } finally {
    await at.close();
  }
}

const parseSecTag = (value: string) =>
  parseIntegerOption("--sec-tag", value, { min: 0, max: MAX_USER_SEC_TAG });

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
export function register(program: Command, ctx: CliContext): void {
  const modem = program
    .command("modem")
    .description("Talk to an nRF91 modem: identity, key generation, credentials, JWTs");

  withConnectionOptions(
    modem.command("info").description("Show IMEI, model, firmware, device UUID and +CFUN mode"),
  ).action(async (options: ConnectionOptions) => {
    const info = await withModem(ctx, options, async (at) => ({
      ...(await readIdentity(at)),
      functionalMode: await getFunctionalMode(at),
    }));
    if (options.json) return writeJson(ctx.io, info);
    writeLines(
      ctx.io,
      `IMEI:            ${info.imei}`,
      `model:           ${info.model}`,
      `firmware:        ${info.firmware}`,
      `device UUID:     ${info.deviceUuid}`,
      `functional mode: ${info.functionalMode}`,
    );
  });

  withConnectionOptions(
    modem
      .command("keygen")
      .description("Generate a key pair in a sec tag (offline for the duration) and get its CSR"),
  )
    .requiredOption("--sec-tag <n>", "sec tag to generate the key in")
    .option("--public-key", "return the public key instead of a CSR")
    .option("--attributes <subject>", 'CSR subject attributes, e.g. "CN=nrf-352656100367872"')
    .option("--key-usage <bits>", '9-character key usage bit string, e.g. "101010000"')
    .option(
      "--out-dir <dir>",
      "write <device id>.sectag<N>.csr.pem (or .pub.pem) and the raw output here",
    )
    .option("--force", "replace existing --out-dir files (never a symbolic link)")
    .option(
      "--replace",
      "delete the client key already in the sec tag first (some firmware refuses to overwrite it)",
    )
    .action(
      async (
        options: ConnectionOptions & {
          secTag: string;
          publicKey?: boolean;
          attributes?: string;
          keyUsage?: string;
          outDir?: string;
          force?: boolean;
          replace?: boolean;
        },
      ) => {
        const request: KeygenOptions = {
          secTag: parseSecTag(options.secTag),
          content: options.publicKey ? "public-key" : "csr",
          ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
          ...(options.keyUsage === undefined ? {} : { keyUsage: options.keyUsage }),
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
        if (options.json) return writeJson(ctx.io, { ...keygenJson(result), files });
        writeLines(
          ctx.io,
          `device ID: ${deviceIdOf(result)} (device UUID ${result.deviceUuid}, sec tag ${result.secTag})`,
          `digest:    ${result.digest} (${result.digestStatus})`,
          ...files.map((file) => `wrote ${file}`),
          result.pem.trimEnd(),
        );
      },
    );

  const creds = modem.command("creds").description("List, write and delete stored credentials");

  withConnectionOptions(creds.command("list").description("List credentials with their SHA-256"))
    .option("--sec-tag <n>", "only this sec tag")
    .action(async (options: ConnectionOptions & { secTag?: string }) => {
      const secTag = options.secTag === undefined ? undefined : parseSecTag(options.secTag);
      const entries = await withModem(ctx, options, (at) =>
        listCredentials(at, secTag === undefined ? {} : { secTag }),
      );
      if (options.json) return writeJson(ctx.io, entries);
      if (entries.length === 0) return writeLines(ctx.io, "no credentials stored");
      writeLines(
        ctx.io,
        ...entries.map(
          (entry) =>
            `${String(entry.secTag).padEnd(11)} ${entry.typeName.padEnd(14)} ${entry.sha256 ?? "(no hash on this firmware)"}`,
        ),
      );
    });

  withConnectionOptions(
    creds
      .command("write")
      .description("Store a credential (offline for the duration) and verify it by its hash"),
  )
    .requiredOption("--sec-tag <n>", "sec tag to write to")
    .requiredOption("--type <type>", "root-ca, client-cert, client-key, … or a number")
    .requiredOption("--file <path>", "PEM (or other content) to store")
    .addOption(
      new Option("--line-endings <kind>", "line endings of the stored bytes")
        .choices(["lf", "crlf", "keep"])
        .default("lf"),
    )
    .action(
      async (
        options: ConnectionOptions & {
          secTag: string;
          type: string;
          file: string;
          lineEndings: LineEndings;
        },
      ) => {
        const secTag = parseSecTag(options.secTag);
        const type = parseCredentialType(options.type);
        const content = await readFile(resolve(ctx.io.cwd, options.file), "utf8");
        const result = await withModem(ctx, options, async (at) => {
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
        });
        if (options.json) {
          return writeJson(ctx.io, { secTag, type, typeName: credentialTypeName(type), ...result });
        }
        writeLines(
          ctx.io,
          `wrote sec tag ${secTag} ${credentialTypeName(type)}: ${result.bytes} bytes, SHA-256 ${result.sha256}, verified by ${result.verification}`,
        );
      },
    );

  withConnectionOptions(
    creds.command("delete").description("Delete a credential (offline for the duration)"),
  )
    .requiredOption("--sec-tag <n>", "sec tag to delete from")
    .requiredOption("--type <type>", "root-ca, client-cert, client-key, … or a number")
    .option("--ignore-missing", "succeed when nothing is stored there")
    .action(
      async (
        options: ConnectionOptions & { secTag: string; type: string; ignoreMissing?: boolean },
      ) => {
        const secTag = parseSecTag(options.secTag);
        const type = parseCredentialType(options.type);
        const deleted = await withModem(ctx, options, (at) =>
          withOfflineMode(at, () =>
            deleteCredential(at, { secTag, type, ignoreMissing: options.ignoreMissing === true }),
          ),
        );
        if (options.json) {
          return writeJson(ctx.io, { secTag, type, typeName: credentialTypeName(type), deleted });
        }
        writeLines(
          ctx.io,
          deleted
            ? `deleted sec tag ${secTag} ${credentialTypeName(type)}`
            : `nothing stored in sec tag ${secTag} ${credentialTypeName(type)}`,
        );
      },
    );

  withConnectionOptions(
    modem.command("jwt").description("Have the modem sign a JWT (needs modem time)"),
  )
    .option("--sec-tag <n>", "sign with the client key in this sec tag (default: identity key)")
    .option("--subject <sub>", "sub claim")
    .option("--audience <aud>", "aud claim")
    .option("--lifetime <seconds>", "seconds until exp (0: no iat/exp)", "0")
    .action(
      async (
        options: ConnectionOptions & {
          secTag?: string;
          subject?: string;
          audience?: string;
          lifetime: string;
        },
      ) => {
        const lifetimeSeconds = parseIntegerOption("--lifetime", options.lifetime, { min: 0 });
        const secTag = options.secTag === undefined ? undefined : parseSecTag(options.secTag);
        const jwt = await withModem(ctx, options, (at) =>
          modemJwt(at, {
            lifetimeSeconds,
            ...(secTag === undefined ? {} : { secTag }),
            ...(options.subject === undefined ? {} : { subject: options.subject }),
            ...(options.audience === undefined ? {} : { audience: options.audience }),
          }),
        );
        if (options.json) return writeJson(ctx.io, jwt);
        writeLines(ctx.io, jwt.token);
      },
    );
}
