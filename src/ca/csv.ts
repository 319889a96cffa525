import { chunkRows, formatPemRow, MAX_CSV_ROWS } from "../cloud/csv/index.js";

export { chunkRows };

/** Max rows nRF Cloud accepts in one RegisterCertificates request (nrf-cloud-api §4). */
export const REGISTER_CERTIFICATES_MAX_ROWS = MAX_CSV_ROWS;

/**
 * RegisterCertificates CSV: `deviceId,"<certificate PEM>"` per row, no header, LF row ends
 * (written by the one nRF Cloud CSV module, src/cloud/csv).
 */
export function registerCertificatesCsv(
  rows: ReadonlyArray<{ deviceId: string; pem: string }>,
): string {
  return rows.map((row) => formatPemRow(row.deviceId, row.pem)).join("");
}
