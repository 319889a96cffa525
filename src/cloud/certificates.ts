import { type BulkUpload, uploadCsv } from "./bulk-upload.js";
import type { CloudContext } from "./context.js";
import { buildRegisterCertificatesCsv, type CertificateRow } from "./csv/index.js";

/** RegisterCertificates: replaces certificates of onboarded devices (bulk). */
export function registerCertificates(
  context: CloudContext,
  rows: readonly CertificateRow[],
): Promise<BulkUpload> {
  return uploadCsv(
    context,
    "REGISTER_CERTIFICATES",
    "/devices/certificates",
    buildRegisterCertificatesCsv(rows),
  );
}
