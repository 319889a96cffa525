import { decode, encode } from "cborg";
import { parseKeygenOutput } from "../../attest/index.js";
import { authenticateDevice } from "./device-auth.js";
import {
  KEYGEN_COMMAND_TYPES,
  keygenBlob,
  readWireResponses,
  type WireCommand,
  type WireResponse,
} from "./mapping.js";
import type { Route, RouteContext, SimReply } from "./routing.js";
import type { SimCommand } from "./state.js";

/** Authenticates the device and checks it is claimed; the UUID, or the refusal. */
function deviceOf(ctx: RouteContext): { deviceUuid: string } | SimReply {
  const auth = authenticateDevice(ctx.state, ctx.request.headers.authorization, {
    acceptAttestationToken: ctx.config.acceptAttestationTokenAuth,
  });
  if (!auth.ok)
    return {
      status: 403,
      json: { message: `Device provided wrong auth credentials: ${auth.message}` },
    };
  if (!ctx.state.claimed.has(auth.deviceUuid)) {
    return {
      status: ctx.faults.unclaimedStatus,
      json: { message: `Unauthorized access: device ${auth.deviceUuid} is not yet claimed` },
    };
  }
  return { deviceUuid: auth.deviceUuid };
}

/** A claimed device's tags matching an active rule get the rule's commands, once, when it polls (reference §1.2). */
function expandRules(ctx: RouteContext, deviceUuid: string): void {
  const device = ctx.state.claimed.get(deviceUuid);
  if (!device) return;
  let applied = ctx.state.appliedRules.get(deviceUuid);
  if (!applied) {
    applied = new Set();
    ctx.state.appliedRules.set(deviceUuid, applied);
  }
  for (const rule of ctx.state.rules) {
    if (!rule.active || applied.has(rule.id) || !rule.tags.some((tag) => device.tags.includes(tag)))
      continue;
    applied.add(rule.id);
    for (const { request } of rule.commands) {
      const [type, fields] = Object.entries(request)[0] ?? [];
      if (type !== undefined)
        ctx.addCommand(deviceUuid, { type, fields: fields ?? {}, ruleId: rule.id });
    }
  }
}

function positiveInteger(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value) && Number(value) > 0 ? Number(value) : undefined;
}

/** The open commands after `after`, whole REST commands only, within `limit` records and `rxMaxSize` bytes. */
function nextBatch(
  ctx: RouteContext,
  deviceUuid: string,
): { commands: SimCommand[]; wire: WireCommand[] } {
  const params = ctx.url.searchParams;
  const after = ctx.state.correlations.get(params.get("after") ?? "")?.command.sequence ?? 0;
  const limit = ctx.faults.ignoreLimit ? undefined : positiveInteger(params.get("limit"));
  const rxMaxSize = ctx.faults.ignoreLimit ? undefined : positiveInteger(params.get("rxMaxSize"));
  const commands: SimCommand[] = [];
  const wire: WireCommand[] = [];
  for (const command of ctx.state.openCommands(deviceUuid)) {
    if (command.sequence <= after && command.status === "IN_PROGRESS") continue;
    const steps = command.wire.filter(
      (step) => ctx.state.correlations.get(step[0])?.step !== undefined,
    );
    const fitsLimit = limit === undefined || wire.length + steps.length <= limit;
    const fitsSize = rxMaxSize === undefined || encode([...wire, ...steps]).length <= rxMaxSize;
    if (commands.length > 0 && (!fitsLimit || !fitsSize)) break;
    commands.push(command);
    wire.push(...steps);
  }
  return { commands, wire };
}

async function getCommands(ctx: RouteContext): Promise<SimReply> {
  const device = deviceOf(ctx);
  if ("status" in device) return device;
  expandRules(ctx, device.deviceUuid);
  const batch = nextBatch(ctx, device.deviceUuid);
  if (batch.wire.length === 0) return { status: 204 };
  for (const command of batch.commands) ctx.state.setStatus(command, "IN_PROGRESS");
  return { status: 200, cbor: encode(batch.wire) };
}

/** The REST `response` of a command the device finished. */
function restResponse(
  ctx: RouteContext,
  command: SimCommand,
  response: WireResponse,
): Record<string, unknown> {
  if (response.kind === "error")
    return {
      [command.type]: { error: { cmeError: response.cmeError, message: response.message } },
    };
  if (response.kind !== "at") return { [command.type]: {} };
  if (!KEYGEN_COMMAND_TYPES.includes(command.type))
    return { [command.type]: { message: response.message } };
  const field =
    ctx.faults.legacyCsrField && command.type === "certificateSigningRequest" ? "csr" : "message";
  return { [command.type]: { [field]: keygenBlob(response.message) } };
}

async function applyResponse(ctx: RouteContext, response: WireResponse): Promise<void> {
  const target = ctx.state.correlations.get(response.correlationId);
  if (target?.command.status !== "IN_PROGRESS") return;
  const { command, step } = target;
  if (response.kind === "error") {
    ctx.state.setStatus(command, "FAILED", restResponse(ctx, command, response));
    ctx.state.cancelAfter(command);
    return;
  }
  if (step < command.wire.length - 1) return; // a helper step (delete before write)
  if (command.type === "cloudAccessKeyGeneration" && response.kind === "at") {
    const keygen = keygenBlob(response.message);
    try {
      const parsed = parseKeygenOutput(keygen);
      const publicKeyPem = parsed.csr?.publicKeyPem ?? parsed.pem;
      await ctx.cloudAccessKey({ deviceUuid: command.deviceUuid, keygen, publicKeyPem });
    } catch (error) {
      ctx.state.setStatus(command, "FAILED", {
        [command.type]: { error: { cmeError: 0, message: (error as Error).message } },
      });
      ctx.state.cancelAfter(command);
      return;
    }
  }
  ctx.state.setStatus(command, "SUCCEEDED", restResponse(ctx, command, response));
}

async function postResponses(ctx: RouteContext): Promise<SimReply> {
  const device = deviceOf(ctx);
  if ("status" in device) return device;
  let decoded: unknown;
  try {
    decoded = decode(ctx.body, { useMaps: false });
  } catch {
    return { status: 400, json: { message: "Body is not CBOR" } };
  }
  const responses = readWireResponses(decoded);
  if (responses === null)
    return { status: 400, json: { message: "Body is not a CBOR array of responses" } };
  for (const response of responses) {
    const target = ctx.state.correlations.get(response.correlationId);
    if (target && target.command.deviceUuid === device.deviceUuid)
      await applyResponse(ctx, response);
  }
  return { status: 200 };
}

/** The device endpoints of the HTTP transport (reference §3.3). */
export const deviceRoutes: Route[] = [
  { method: "GET", path: /^\/v1\/provisioning\/commands$/, device: true, handle: getCommands },
  { method: "POST", path: /^\/v1\/provisioning\/response$/, device: true, handle: postResponses },
];
