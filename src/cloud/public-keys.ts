import { type BulkUpload, uploadCsv } from "./bulk-upload.js";
import type { CloudContext } from "./context.js";
import { buildRegisterPublicKeysCsv, type PublicKeyRow } from "./csv/index.js";

/** RegisterPublicKeys: ES256 JWT-verification keys (bulk; overwrites a device's key). */
export function registerPublicKeys(
  context: CloudContext,
  rows: readonly PublicKeyRow[],
): Promise<BulkUpload> {
  return uploadCsv(
    context,
    "REGISTER_PUBLIC_KEYS",
    "/devices/public-keys",
    buildRegisterPublicKeysCsv(rows),
  );
}
