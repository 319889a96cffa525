// nRF Cloud device IDs, checked the same way wherever one is made, signed into a certificate
// or a JWT, or uploaded: the API's pattern and the shorter limit device firmware sets.

/** The REST API's pattern (OPENAPI, case-insensitive): 1–128 of a-z, A-Z, 0-9, ':', '_', '-'. */
export const DEVICE_ID_API_PATTERN = /^[a-z0-9:_-]{1,128}$/i;

/** Device firmware limit on client IDs (NRF_CLOUD_CLIENT_ID_MAX_LEN); the API allows 128. */
export const DEVICE_ID_MAX_LENGTH = 64;

/**
 * The rule in words, stated identically in the README, the help and every error: the API's
 * alphabet (either case) and the firmware's length.
 */
export const DEVICE_ID_RULE = `1 to ${DEVICE_ID_MAX_LENGTH} characters, each a letter (a-z, A-Z), a digit, ':', '_' or '-'`;

/** The reason `id` is not a device ID a device can use, or null when it is. */
export function deviceIdProblem(id: string): string | null {
  if (!DEVICE_ID_API_PATTERN.test(id)) return `a device ID is ${DEVICE_ID_RULE}`;
  if (id.length > DEVICE_ID_MAX_LENGTH) {
    return `a device ID is ${DEVICE_ID_RULE}; this one has ${id.length} (nRF Cloud would take up to 128, device firmware only ${DEVICE_ID_MAX_LENGTH})`;
  }
  return null;
}
