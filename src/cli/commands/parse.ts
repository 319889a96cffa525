import type { Readable } from "node:stream";
import type { Command } from "commander";
import {
  type AttestationToken,
  AttestError,
  assertKeygenTrusted,
  CoseKeyId,
  type KeygenOutput,
  parseAttestationToken,
  parseKeygenOutput,
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

function tokenJson(token: AttestationToken) {
  return { ...token, message: base64(token.message), cose: base64(token.cose) };
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

/** Registers `parse keygen` and `parse attesttoken`: inspect modem attestation output offline. */
export function register(program: Command, ctx: CliContext): void {
  const parse = program
    .command("parse")
    .description("Decode and check %KEYGEN / %ATTESTTOKEN output copied from a modem.");

  parse
    .command("keygen")
    .description(
      'Parse AT%KEYGEN output ("<DER>.<COSE>" or the %KEYGEN: line; "-" reads stdin) and check its digest and CSR signature. Exit 3/4 when it must not be trusted.',
    )
    .argument("<blob>", 'the output, or "-" for standard input')
    .option("--json", "print the parsed object as JSON (DER and COSE as base64)")
    .action(async (blob: string, options: ParseOptions) => {
      const out = parseKeygenOutput(await inputText(ctx, blob));
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
    });

  parse
    .command("attesttoken")
    .description(
      'Parse AT%ATTESTTOKEN output ("<message>.<COSE>" or the %ATTESTTOKEN: line; "-" reads stdin).',
    )
    .argument("<blob>", 'the output, or "-" for standard input')
    .option("--json", "print the parsed object as JSON (message and COSE as base64)")
    .action(async (blob: string, options: ParseOptions) => {
      const token = parseAttestationToken(await inputText(ctx, blob));
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
      );
    });
}
