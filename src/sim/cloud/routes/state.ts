import { authorizeDevice } from "../auth.js";
import { parseJsonBody, type Route, SimHttpError } from "../http.js";
import type { SimCloudStore } from "../store.js";

/** UpdateDeviceState: a shadow patch, with If-Match optimistic locking. */
export function stateRoutes(store: SimCloudStore): Route[] {
  return [
    [
      "PATCH",
      /^\/v1\/devices\/([^/]+)\/state$/,
      async (request, [id = ""], body) => {
        await authorizeDevice(store, request, id);
        const device = store.registry.devices.get(id);
        if (!device)
          throw new SimHttpError(404, 40412, `Device ${id} is not provisioned (onboard it first)`);
        const patch = parseJsonBody(body);
        if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
          throw new SimHttpError(
            400,
            40000,
            "The state must be a JSON object with reported and/or desired",
          );
        }
        const ifMatch = request.headers["if-match"];
        if (ifMatch !== undefined) {
          const expected = Number(ifMatch.replaceAll('"', "").trim());
          if (expected !== device.shadow.version) {
            throw new SimHttpError(
              409,
              40900,
              `If-Match ${ifMatch} does not match the shadow version ${device.shadow.version}`,
            );
          }
        }
        store.registry.updateShadow(device, patch as { reported?: unknown; desired?: unknown });
        return { status: 202 };
      },
    ],
  ];
}
