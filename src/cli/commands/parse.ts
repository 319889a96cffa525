import type { Readable } from "node:stream";
import type { Command } from "commander";
import {
  type AttestationToken,
  AttestError,
  assertKeygenTrusted,
  CoseKeyId,
  isBareAttestationMessage,
  isBareKeygenBody,
  type KeygenOutput,
  parseAttestationMessage,
  parseAttestationToken,
  parseKeygenBody,
  parseKeygenOutput,
  type UnattestedAttestationMessage,
  type UnattestedKeygenOutput,
} from "../../attest/index.js";
import { type CliContext, writeJson, writeLines } from "../context.js";
import { exitCodeForErrorCode } from "../exit-codes.js";

interface ParseOptions {
  json?: boolean;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** The argument itself, or standard input for `-` (e.g. piped serial output). */
function inputText(ctx: CliContext, input: string): Promise<string> {
  return input === "-" ? readAll(ctx.io.stdin) : Promise.resolve(input);
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

function keygenJson(out: KeygenOutput) {
  return { ...out, der: base64(out.der), cose: base64(out.cose) };
}

function tokenJson(token: AttestationToken | UnattestedAttestationMessage) {
  return {
    ...token,
    message: base64(token.message),
    cose: "cose" in token ? base64(token.cose) : undefined,
  };
}

const NOT_ATTESTED = "none: NOT ATTESTED (no COSE part), nothing shows this was made by a modem";

/** A bare %KEYGEN body: what it holds, and that nothing attests it. */
function bareKeygenLines(out: UnattestedKeygenOutput): string[] {
  const lines = [
    `Kind:           ${out.kind === "csr" ? "CSR" : "public key"}`,
    `Attestation:    ${NOT_ATTESTED}`,
  ];
  if (out.csr) {
    lines.push(
      `Subject:        ${out.csr.subject}`,
      `Common name:    ${out.csr.commonName ?? "(none)"}`,
      `CSR signature:  ${out.csr.signatureValid ? "valid" : "INVALID"}`,
      "",
      out.pem.trimEnd(),
    );
  }
  lines.push("", out.publicKeyPem.trimEnd());
  return lines;
}

/** Prints a bare %KEYGEN body; its verdict (not attested) goes to stderr and the exit code. */
function reportBareKeygen(ctx: CliContext, text: string, options: ParseOptions): void {
  const out = parseKeygenBody(text);
  if (options.json) writeJson(ctx.io, { ...out, der: base64(out.der) });
  else writeLines(ctx.io, ...bareKeygenLines(out));
  const verdict = out.csr?.signatureValid === false ? "and its CSR signature is INVALID" : "";
  ctx.io.stderr.write(
    `warning: this AT%KEYGEN output is not attested (no COSE part)${verdict ? ` ${verdict}` : ""}; ca issue refuses it unless --allow-unattested [ERR_KEYGEN_UNATTESTED]\n`,
  );
  ctx.exitCode = exitCodeForErrorCode("ERR_KEYGEN_UNATTESTED");
}

const keyIdNames: Record<number, string> = {
  [CoseKeyId.identityKey]: "device identity key",
  [CoseKeyId.nordicBaseProductionKey]: "Nordic base production key",
  [CoseKeyId.nordicBaseRdKey]: "Nordic base R&D key",
};

function describeDigest(out: KeygenOutput): string {
  if (out.digestStatus === "match") return "matches the body";
  if (out.digestStatus === "mismatch") return "DOES NOT MATCH the body";
  return "matches only with the NULL parameter re-inserted (body was re-encoded)";
}

function keygenLines(out: KeygenOutput): string[] {
  const keyId =
    out.keyId === null ? "none" : `${out.keyId} (${keyIdNames[out.keyId] ?? "unknown"})`;
  const lines = [
    `Kind:           ${out.kind === "csr" ? "CSR" : "public key"} (message type ${out.messageType})`,
    `Device UUID:    ${out.deviceUuid}`,
    `Sec tag:        ${out.secTag}`,
    `SHA-256 digest: ${out.digest} (${describeDigest(out)})`,
    `Nonce:          ${out.nonce}`,
    `COSE key id:    ${keyId}`,
  ];
  if (out.csr) {
    lines.push(
      `Subject:        ${out.csr.subject}`,
      `CSR signature:  ${out.csr.signatureValid ? "valid" : "INVALID"}`,
      "",
      out.pem.trimEnd(),
    );
  }
  lines.push("", out.publicKeyPem.trimEnd());
  return lines;
}

/** The `parse` subcommands: each takes modem output as its one argument (or "-") and `--json`. */
const blobCommands = [
  {
    name: "keygen",
    description:
      'Parse AT%KEYGEN output ("<DER>.<COSE>", the %KEYGEN: line, or a bare body; "-" reads stdin) and check its digest and CSR signature. Exit 3/4 when it must not be trusted (also when not attested).',
    jsonHelp: "print the parsed object as JSON (DER and COSE as base64)",
    action: parseKeygenAction,
  },
  {
    name: "attesttoken",
    description:
      'Parse AT%ATTESTTOKEN output ("<message>.<COSE>", the %ATTESTTOKEN: line, or the message alone; "-" reads stdin).',
    jsonHelp: "print the parsed object as JSON (message and COSE as base64)",
    action: parseAttestTokenAction,
  },
];

/** Registers `parse keygen` and `parse attesttoken`: inspect modem attestation output offline. */
export function register(program: Command, ctx: CliContext): void {
  const parse = program
    .command("parse")
    .description("Decode and check %KEYGEN / %ATTESTTOKEN output copied from a modem.");
  for (const { name, description, jsonHelp, action } of blobCommands) {
    parse
      .command(name)
      .description(description)
      .argument("<blob>", 'the output, or "-" for standard input')
      .option("--json", jsonHelp)
      .action(async (blob: string, options: ParseOptions) =>
        action(ctx, await inputText(ctx, blob), options),
      );
  }
}

function parseKeygenAction(ctx: CliContext, text: string, options: ParseOptions): void {
  if (isBareKeygenBody(text)) {
    reportBareKeygen(ctx, text, options);
    return;
  }
  const out = parseKeygenOutput(text);
  if (options.json) writeJson(ctx.io, keygenJson(out));
  else writeLines(ctx.io, ...keygenLines(out));
  try {
    assertKeygenTrusted(out);
  } catch (error) {
    if (!(error instanceof AttestError)) throw error;
    // The parse succeeded and was printed; the verdict goes to stderr and the exit code.
    ctx.io.stderr.write(`warning: ${error.message} [${error.code}]\n`);
    ctx.exitCode = exitCodeForErrorCode(error.code);
  }
}

function parseAttestTokenAction(ctx: CliContext, text: string, options: ParseOptions): void {
  const token = isBareAttestationMessage(text)
    ? parseAttestationMessage(text)
    : parseAttestationToken(text);
  if (options.json) {
    writeJson(ctx.io, tokenJson(token));
    return;
  }
  writeLines(
    ctx.io,
    `Device UUID:         ${token.deviceUuid}`,
    `Device type:         ${token.deviceType} (${token.deviceTypeName})`,
    `Modem firmware UUID: ${token.modemFirmwareUuid}`,
    `Nonce:               ${token.nonce}`,
    `Message type:        ${token.messageType} (device identity message v1)`,
    ...("attestation" in token ? [`Attestation:         ${NOT_ATTESTED}`] : []),
  );
}
