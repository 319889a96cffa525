/** nRF Cloud's REST API. A module of its own so the CLI can name it without loading the client. */
export const DEFAULT_BASE_URL = "https://api.nrfcloud.com/v1";
