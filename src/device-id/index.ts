// nRF Cloud device IDs, checked the same way wherever one is made, signed into a certificate
// or a JWT, or uploaded: the API's pattern and the shorter limit device firmware sets.

/** The REST API's pattern (OPENAPI): 1–128 of a-z, A-Z, 0-9, ':', '_', '-'. */
export const DEVICE_ID_API_PATTERN = /^[a-z0-9:_-]{1,128}$/i;

/** Device firmware limit on client IDs (NRF_CLOUD_CLIENT_ID_MAX_LEN); the API allows 128. */
export const DEVICE_ID_MAX_LENGTH = 64;

/** The reason `id` is not a device ID a device can use, or null when it is. */
export function deviceIdProblem(id: string): string | null {
  if (!DEVICE_ID_API_PATTERN.test(id)) {
    return "nRF Cloud device IDs may contain only letters, digits, ':', '_' and '-' (1–128 characters)";
  }
  if (id.length > DEVICE_ID_MAX_LENGTH) {
    return `device firmware accepts at most ${DEVICE_ID_MAX_LENGTH} characters, this one has ${id.length}`;
  }
  return null;
}
