import { randomUUID } from "node:crypto";
import { claim, tagsOf, verifyClaimToken } from "./claim.js";
import type { CommandFields } from "./mapping.js";
import type { Route, RouteContext, SimReply } from "./routing.js";
import { commandJson, type SimRule } from "./state.js";

const UUID = "([0-9a-fA-F-]{36})";

function reply(status: number, json?: unknown): SimReply {
  return json === undefined ? { status } : { status, json };
}

function parseJson(ctx: RouteContext): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(ctx.body.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** utils sends `contentType: text/csv` (misspelled) or nothing (reference §2.4): accept all three. */
function isCsv(ctx: RouteContext): boolean {
  const type = `${ctx.request.headers["content-type"] ?? ""} ${ctx.request.headers.contenttype ?? ""}`;
  if (/text\/csv/i.test(type)) return true;
  return !/json/i.test(type) && !ctx.body.toString("utf8").trimStart().startsWith("{");
}

function claimOne(ctx: RouteContext): SimReply {
  const body = parseJson(ctx);
  if (!body) return reply(400, { message: "Body must be JSON {claimToken, tags?}" });
  const tags = tagsOf(body.tags);
  if (tags === null) return reply(400, { message: "tags must be an array of strings" });
  const verdict = verifyClaimToken(ctx.state, body.claimToken);
  if (!verdict.ok) return reply(verdict.status, { message: verdict.message });
  if (ctx.url.searchParams.get("dryrun") === "true") return reply(202);
  return reply(201, claim(ctx.state, verdict.token, tags, ctx.config.ownerId));
}

/** One token per row, optionally a tags field (reference §2.4). */
function claimBulk(ctx: RouteContext): SimReply {
  const claimedIds: string[] = [];
  const failed: Array<{ claimToken: string; id?: string | undefined; message: string }> = [];
  const records = ctx.csvRecords(ctx.body.toString("utf8"));
  ctx.state.bulkClaims.push(records.length);
  for (const fields of records) {
    const claimToken = (fields[0] ?? "").trim();
    const tags = (fields[1] ?? "")
      .split(ctx.config.bulkTagSeparator)
      .map((tag) => tag.trim())
      .filter(Boolean);
    const verdict = verifyClaimToken(ctx.state, claimToken);
    if (!verdict.ok) {
      failed.push({
        claimToken,
        id: verdict.deviceUuid || undefined,
        message: verdict.message,
      });
      continue;
    }
    claimedIds.push(claim(ctx.state, verdict.token, tags, ctx.config.ownerId).id);
  }
  if (ctx.faults.bulkAnswer === "bulk-ops-id") {
    return reply(202, {
      bulkOpsRequestId: randomUUID().replaceAll("-", "").slice(0, 26).toUpperCase(),
    });
  }
  return reply(200, { claimedIds, failed });
}

function claimedDevice(ctx: RouteContext, uuid: string): SimReply | null {
  if (ctx.state.claimed.has(uuid.toLowerCase())) return null;
  return reply(ctx.faults.unclaimedStatus, {
    message: `Device ${uuid} is not claimed by this team`,
  });
}

function createCommand(ctx: RouteContext, uuid: string): SimReply {
  const body = parseJson(ctx);
  const request = body?.request;
  if (typeof request !== "object" || request === null || Object.keys(request).length !== 1) {
    return reply(400, { message: "request must be an object with exactly one command type" });
  }
  const [type, fields] = Object.entries(request)[0] as [string, unknown];
  const max = ctx.config.maxCommandsPerDevice;
  if (ctx.state.openCommands(uuid).length >= max) {
    return reply(400, {
      message: `Device ${uuid} already has ${max} provisioning commands (the most a device may have)`,
    });
  }
  const description = typeof body?.description === "string" ? body.description : undefined;
  const command = ctx.addCommand(uuid, {
    type,
    fields: (fields ?? {}) as CommandFields,
    description,
  });
  return command
    ? reply(201, commandJson(command))
    : reply(400, { message: `Unknown or incomplete command ${type}` });
}

function createRule(ctx: RouteContext): SimReply {
  const body = parseJson(ctx);
  const tags = tagsOf(body?.tags);
  const commands = body?.commands;
  if (!body || typeof body.name !== "string" || !tags || !Array.isArray(commands)) {
    return reply(400, { message: "A rule needs name, tags and commands" });
  }
  const rule: SimRule = {
    id: randomUUID(),
    name: body.name,
    description: typeof body.description === "string" ? body.description : undefined,
    active: body.active !== false,
    tags,
    commands: commands as SimRule["commands"],
    createdAt: ctx.state.iso(),
  };
  ctx.state.rules.push(rule);
  return reply(201, rule);
}

function createTag(ctx: RouteContext): SimReply {
  const body = parseJson(ctx);
  if (!body || typeof body.tag !== "string" || body.tag === "")
    return reply(400, { message: "tag is required" });
  if (ctx.state.tags.has(body.tag))
    return reply(409, { message: `Tag ${body.tag} already exists` });
  const tag = {
    tag: body.tag,
    description: typeof body.description === "string" ? body.description : undefined,
  };
  ctx.state.tags.set(body.tag, tag);
  return reply(201, tag);
}

/** The owner endpoints (reference §1.2), authenticated with the team API key. */
export const ownerRoutes: Route[] = [
  {
    method: "POST",
    path: /^\/v1\/(?:identities\/)?claimed-devices$/,
    handle: (ctx) => (isCsv(ctx) ? claimBulk(ctx) : claimOne(ctx)),
  },
  { method: "POST", path: /^\/v1\/claimed-devices\/bulk$/, handle: (ctx) => claimBulk(ctx) },
  {
    method: "GET",
    path: new RegExp(`^/v1/claimed-devices/${UUID}$`),
    handle: (ctx, [uuid]) =>
      claimedDevice(ctx, uuid) ?? reply(200, ctx.state.claimed.get(uuid.toLowerCase())),
  },
  {
    method: "DELETE",
    path: new RegExp(`^/v1/claimed-devices/${UUID}$`),
    handle: (ctx, [uuid]) => {
      if (!ctx.state.claimed.delete(uuid.toLowerCase()))
        return reply(404, { message: `Device ${uuid} is not claimed` });
      ctx.state.commands.delete(uuid.toLowerCase());
      return reply(204);
    },
  },
  {
    method: "POST",
    path: new RegExp(`^/v1/claimed-devices/${UUID}/provisioning$`),
    handle: (ctx, [uuid]) => claimedDevice(ctx, uuid) ?? createCommand(ctx, uuid.toLowerCase()),
  },
  {
    method: "GET",
    path: new RegExp(`^/v1/claimed-devices/${UUID}/provisioning$`),
    handle: (ctx, [uuid]) =>
      claimedDevice(ctx, uuid) ??
      reply(200, { items: ctx.state.queue(uuid.toLowerCase()).map(commandJson) }),
  },
  {
    method: "GET",
    path: new RegExp(`^/v1/claimed-devices/${UUID}/provisioning/([^/]+)$`),
    handle: (ctx, [uuid, id]) => {
      const command = ctx.state.queue(uuid.toLowerCase()).find((candidate) => candidate.id === id);
      return (
        claimedDevice(ctx, uuid) ??
        (command ? reply(200, commandJson(command)) : reply(404, { message: `No command ${id}` }))
      );
    },
  },
  {
    method: "GET",
    path: /^\/v1\/provisioning-rules$/,
    handle: (ctx) => reply(200, { items: ctx.state.rules }),
  },
  { method: "POST", path: /^\/v1\/provisioning-rules$/, handle: createRule },
  {
    method: "GET",
    path: /^\/v1\/provisioning\/tags$/,
    handle: (ctx) => reply(200, { items: [...ctx.state.tags.values()] }),
  },
  { method: "POST", path: /^\/v1\/provisioning\/tags$/, handle: createTag },
];
