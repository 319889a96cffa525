import { formatErrorSummary, formatLegacyErrorSummary } from "../../../cloud/index.js";
import { requireApiKey } from "../auth.js";
import { type Route, requireCsv, SimHttpError } from "../http.js";
import { ulid } from "../random.js";
import type { SimBulkOp, SimCloudStore } from "../store.js";
import { type BulkEndpoint, type UploadedRow, validateUpload } from "../validate.js";

/** The three CSV uploads: each starts a bulk operation (202 with its ID). */
export function bulkUploadRoutes(store: SimCloudStore): Route[] {
  const upload =
    (endpoint: BulkEndpoint): Route[2] =>
    (request, _params, body) => {
      requireApiKey(store, request);
      requireCsv(request);
      return { status: 202, json: { bulkOpsRequestId: startBulkOp(store, endpoint, body) } };
    };
  return [
    ["POST", /^\/v1\/devices\/certificates$/, upload("REGISTER_CERTIFICATES")],
    ["POST", /^\/v1\/devices\/public-keys$/, upload("REGISTER_PUBLIC_KEYS")],
    ["POST", /^\/v1\/devices$/, upload("ONBOARD_DEVICES")],
  ];
}

/** Bulk operation status, the list, and the unauthenticated data URLs of the bucket. */
export function bulkOpsRoutes(store: SimCloudStore): Route[] {
  return [
    [
      "GET",
      /^\/v1\/bulk-ops-requests\/([^/]+)$/,
      (request, [id = ""]) => {
        requireApiKey(store, request);
        const op = store.bulkOps.get(id);
        if (!op) throw new SimHttpError(404, 40410, `Bulk operation ${id} not found`);
        return { status: 200, json: op.details };
      },
    ],
    [
      "GET",
      /^\/v1\/bulk-ops-requests$/,
      (request, _params, _body, url) => {
        requireApiKey(store, request);
        return { status: 200, json: listBulkOps(store, url.searchParams) };
      },
    ],
    // Pre-signed-style data URLs: no auth, as on the real bucket.
    [
      "GET",
      /^\/bulk-ops-requests-data\/[^/]+\/[^/]+\/([0-9A-Z]{26})\.(json|csv)$/,
      (_request, [id = "", kind]) => {
        const op = store.bulkOps.get(id);
        if (!op || (kind === "json" && !op.details.errorSummaryUrl)) {
          throw new SimHttpError(404, 40420, "Not found");
        }
        if (kind === "csv") return { status: 200, text: op.body };
        const summary =
          store.options.errorSummaryFormat === "legacy"
            ? formatLegacyErrorSummary(op.errors)
            : formatErrorSummary(op.errors);
        return { status: 200, text: summary };
      },
    ],
  ];
}

function listBulkOps(store: SimCloudStore, query: URLSearchParams) {
  const status = query.get("status");
  const pageLimit = Number(query.get("pageLimit") ?? 10);
  const all = [...store.bulkOps.values()]
    .map((op) => op.details)
    .filter((details) => status === null || details.status === status);
  const token = query.get("pageNextToken");
  const start =
    token === null ? 0 : all.findIndex((details) => details.bulkOpsRequestId === token) + 1;
  const items = all.slice(start, start + pageLimit);
  const last = items[items.length - 1];
  const more = start + pageLimit < all.length;
  // No token on the last page (undefined is left out of the JSON).
  return { items, total: all.length, pageNextToken: more ? last?.bulkOpsRequestId : undefined };
}

/** Validates the upload and queues its job: PENDING, IN_PROGRESS, then applied. */
function startBulkOp(store: SimCloudStore, endpoint: BulkEndpoint, body: string): string {
  const rows = validateUpload(endpoint, body);
  const id = ulid(store.now(), store.random);
  const dataPath = `${store.origin}/bulk-ops-requests-data/${store.tenantId}/${endpoint.toLowerCase()}/${id}`;
  const op: SimBulkOp = {
    details: {
      bulkOpsRequestId: id,
      endpoint,
      status: "PENDING",
      requestedAt: new Date(store.now()).toISOString(),
      uploadedDataUrl: `${dataPath}.csv`,
    },
    body,
    errors: [],
  };
  store.bulkOps.set(id, op);
  const step = () => {
    if (op.details.status === "PENDING") op.details.status = "IN_PROGRESS";
    else if (op.details.status === "IN_PROGRESS") finishBulkOp(store, op, rows, dataPath);
  };
  store.pendingSteps.set(op, step);
  if (store.options.bulkProgress !== "manual") {
    const bulkDelayMs = store.options.bulkDelayMs ?? 1000;
    // Chained, not two timers: under load two due timers may run in either order.
    store.later(bulkDelayMs / 2, () => {
      step();
      store.later(bulkDelayMs / 2, step);
    });
  }
  return id;
}

/** Moves every unfinished bulk operation one step on; returns how many moved. */
export function advanceBulkOps(store: SimCloudStore): number {
  let moved = 0;
  for (const step of [...store.pendingSteps.values()]) {
    step();
    moved += 1;
  }
  return moved;
}

/** Applies every row, then sets the final status and the error summary URL. */
function finishBulkOp(
  store: SimCloudStore,
  op: SimBulkOp,
  rows: UploadedRow[],
  dataPath: string,
): void {
  const endpoint = op.details.endpoint;
  rows.forEach((row, index) => {
    const error = rowFails(store, row.deviceId, index, endpoint)
      ? "Simulated failure of this row (failRows)"
      : applyRow(store, endpoint, row);
    if (error) op.errors.push({ row: index, message: error });
  });
  store.pendingSteps.delete(op);
  op.details.status = op.errors.length === 0 ? "SUCCEEDED" : "FAILED";
  op.details.completedAt = new Date(store.now()).toISOString();
  if (op.errors.length > 0) op.details.errorSummaryUrl = `${dataPath}.json`;
}

/** One row's effect on the registry; the row's error message, if any. */
function applyRow(
  store: SimCloudStore,
  endpoint: BulkEndpoint,
  row: UploadedRow,
): string | null | undefined {
  if (endpoint === "ONBOARD_DEVICES") return store.registry.onboard(row)?.message;
  if (endpoint === "REGISTER_CERTIFICATES") {
    return store.registry.replaceCertificate(row.deviceId, row.pem);
  }
  return store.registry.registerPublicKey(row.deviceId, row.pem);
}

function rowFails(
  store: SimCloudStore,
  deviceId: string,
  row: number,
  endpoint: BulkEndpoint,
): boolean {
  const rule = store.options.failRows;
  if (!rule) return false;
  return typeof rule === "function" ? rule({ deviceId, row, endpoint }) : rule.has(deviceId);
}
