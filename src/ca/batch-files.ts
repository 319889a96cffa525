import { join } from "node:path";
import { isBareKeygenBody, parseKeygenBody } from "../attest/index.js";
import { mapWithConcurrency } from "../concurrency/index.js";
import { fromPemAll } from "../der/index.js";
import { FileError, refuseExisting, writeNewFile } from "../files/index.js";
import type { CertificateAuthority } from "./authority.js";
import type { BatchItem } from "./batch.js";
import { chunkRows, registerCertificatesCsv } from "./csv.js";
import { CaError } from "./errors.js";
import type { IssuedCertificate } from "./issue.js";

/** The batch items of one CSR file: DER, or one or several PEM certificate requests. */
export function csrFileItems(file: string, bytes: Uint8Array): BatchItem[] {
  const text = Buffer.from(bytes).toString("latin1");
  if (!text.includes("-----BEGIN")) {
    return [{ label: file, input: { kind: "csr", der: new Uint8Array(bytes) } }];
  }
  const blocks = fromPemAll(text, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]);
  if (blocks.length === 0) {
    throw new CaError("ERR_CSR_MALFORMED", `${file} holds no PEM certificate request.`);
  }
  return blocks.map((der, i) => ({
    label: blocks.length === 1 ? file : `${file}#${i + 1}`,
    input: { kind: "csr", der },
  }));
}

/**
 * One AT%KEYGEN line as a batch item. Without `allowUnattested` a bare body stays KEYGEN
 * input, which refuses it (ERR_KEYGEN_UNATTESTED); with it, the body is a plain CSR whose
 * signature is checked.
 */
export function keygenItem(label: string, text: string, allowUnattested: boolean): BatchItem {
  if (!allowUnattested || !isBareKeygenBody(text)) {
    return { label, input: { kind: "keygen", text } };
  }
  const body = parseKeygenBody(text);
  if (body.kind !== "csr") {
    throw new CaError(
      "ERR_CSR_MALFORMED",
      `${label}: the AT%KEYGEN body is a public key, not a CSR; run AT%KEYGEN with response content 0 (CSR).`,
    );
  }
  return { label, input: { kind: "csr", der: body.der } };
}

/** The KEYGEN lines of a file; blank lines, comments and the modem's final "OK" are not inputs. */
export function keygenFileItems(
  file: string,
  content: string,
  allowUnattested: boolean,
): BatchItem[] {
  return content.split(/\r?\n/).flatMap((line, i) => {
    const text = line.trim();
    if (text === "" || text === "OK" || text.startsWith("#")) return [];
    return [keygenItem(`${file}:${i + 1}`, text, allowUnattested)];
  });
}

const CSV_FIRST_NAMES = ["register-certificates.csv", "register-certificates-001.csv"];

/** Refuses a batch whose RegisterCertificates CSV would overwrite an earlier batch's. */
export async function refuseBatchOutputs(outDir: string, force: boolean): Promise<void> {
  await refuseExisting(
    CSV_FIRST_NAMES.map((name) => join(outDir, name)),
    { force },
  );
}

/** PEM files written at once by a batch: one by one, 10,000 files took about 1.7 s here. */
const FILE_WRITERS = 16;

/**
 * Writes a batch's files into `outDir`: `<deviceId>.pem` per device and the RegisterCertificates
 * CSV files (`outDir` exists); returns the CSV paths. A failed write says what the ledger holds (see `outputFailed`).
 */
export async function writeBatchFiles(
  ca: CertificateAuthority,
  outDir: string,
  issued: IssuedCertificate[],
  force: boolean,
): Promise<string[]> {
  const chunks = chunkRows(issued);
  const csvFiles = chunks.map((_, i) =>
    join(
      outDir,
      chunks.length === 1
        ? "register-certificates.csv"
        : `register-certificates-${String(i + 1).padStart(3, "0")}.csv`,
    ),
  );
  const written: string[] = [];
  try {
    await writeCertificateFiles(outDir, issued, force, written);
    for (const [i, chunk] of chunks.entries()) {
      await writeNewFile(csvFiles[i]!, registerCertificatesCsv(chunk), { force });
      written.push(csvFiles[i]!);
    }
  } catch (error) {
    throw outputFailed(error, ca, issued, written);
  }
  return csvFiles;
}

/**
 * Writes `<deviceId>.pem` for each certificate: the convenient copies for upload (the ledger
 * has every certificate). A device issued twice in one batch keeps its last certificate.
 */
async function writeCertificateFiles(
  outDir: string,
  certificates: IssuedCertificate[],
  force: boolean,
  written: string[],
): Promise<void> {
  const lastByDevice = [...new Map(certificates.map((c) => [c.deviceId, c])).values()];
  await mapWithConcurrency(lastByDevice, FILE_WRITERS, async (certificate) => {
    const path = join(outDir, `${certificate.deviceId}.pem`);
    // No fsync per copy: the ledger holds every certificate durably already.
    await writeNewFile(path, certificate.pem, { force, sync: false });
    written.push(path);
  });
}

/**
 * An output that could not be written after certificates were issued: says what is in the
 * ledger (issued), which files were written, and how to get the rest.
 */
export function outputFailed(
  error: unknown,
  ca: CertificateAuthority,
  issued: readonly IssuedCertificate[],
  written: readonly string[],
): unknown {
  if (!(error instanceof FileError)) return error;
  return new FileError(
    error.code,
    `${error.message} ${issued.length} certificate${issued.length === 1 ? " was" : "s were"} issued and recorded in the ledger ${ca.info.files.ledger}; ${written.length} output file${written.length === 1 ? " was" : "s were"} written before this failure. Export the certificates again with "nrf-provision ca ledger --dir ${ca.info.dir} --csv".`,
    {
      cause: error,
      details: {
        ...error.details,
        issued: issued.map((c) => ({ deviceId: c.deviceId, serialNumber: c.serialNumber })),
        written,
      },
    },
  );
}
