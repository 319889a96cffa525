/** Max rows nRF Cloud accepts in one RegisterCertificates request (nrf-cloud-api §4). */
export const REGISTER_CERTIFICATES_MAX_ROWS = 1000;

/**
 * RegisterCertificates CSV: `deviceId,"<certificate PEM>"` per row, no header, LF row ends.
 * The PEM keeps its trailing LF inside the quotes (the API's regex requires it).
 */
export function registerCertificatesCsv(
  rows: ReadonlyArray<{ deviceId: string; pem: string }>,
): string {
  return rows.map((row) => `${row.deviceId},"${row.pem.replaceAll('"', '""')}"\n`).join("");
}

/** Splits rows into request-sized chunks. */
export function chunkRows<T>(rows: readonly T[], size = REGISTER_CERTIFICATES_MAX_ROWS): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += size)
    chunks.push(rows.slice(start, start + size));
  return chunks;
}
