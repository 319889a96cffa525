// How a REST provisioning command becomes the device's CBOR commands, and how the device's
// answers become the REST `response` (reference §3.4, §3.7). Only the wire layout is sourced;
// which AT commands each REST command becomes is inferred, so the mapping is replaceable.

/** `[corr, 0, setCommand, parameters, ignoreCme[]]` */
export type WireAtCommand = [string, 0, string, string, number[]];
/** `[corr, 1, {key: value}]` */
export type WireConfigCommand = [string, 1, Map<string, string>];
/** `[corr, 2]` */
export type WireFinishedCommand = [string, 2];
export type WireCommand = WireAtCommand | WireConfigCommand | WireFinishedCommand;

/** One REST request member, e.g. `{ secTag: 16842753 }` for `clientPrivateKeyGeneration`. */
export type CommandFields = Record<string, unknown>;

/**
 * The device commands for one REST command. `main` is its correlation ID; helper steps the
 * service inserts before it (a delete) use `main + ".s"`, as in the SDK's test vectors.
 * Undefined means the command type is not known (the service answers 400).
 */
export type CommandMapping = (
  type: string,
  fields: CommandFields,
  main: string,
) => WireCommand[] | undefined;

const DELETE_NOT_FOUND = 513;

function secTagOf(fields: CommandFields): number | undefined {
  const tag = fields.secTag;
  return typeof tag === "number" && Number.isInteger(tag) && tag >= 0 ? tag : undefined;
}

const quoted = (value: string) => `"${value}"`;

function deleteThen(main: string, tag: number, type: number, last: WireCommand): WireCommand[] {
  return [[`${main}.s`, 0, "%CMNG", `3,${tag},${type}`, [DELETE_NOT_FOUND]], last];
}

function csrParameters(tag: number, fields: CommandFields): string {
  const attributes = typeof fields.attributes === "string" ? fields.attributes : "";
  const keyUsage = typeof fields.keyUsage === "string" ? fields.keyUsage : "";
  if (attributes === "" && keyUsage === "") return `${tag},2,0`;
  return `${tag},2,0,${quoted(attributes)}${keyUsage === "" ? "" : `,${quoted(keyUsage)}`}`;
}

/** The mapping of reference §3.7 (inferred except for the key-generation vector). */
export const defaultCommandMapping: CommandMapping = (type, fields, main) => {
  if (type === "finished") return [[main, 2]];
  if (type === "config" || type === "configuration") {
    const pairs = Object.entries(fields).filter(
      (pair): pair is [string, string] => typeof pair[1] === "string",
    );
    return [[main, 1, new Map(pairs)]];
  }
  const tag = secTagOf(fields);
  if (tag === undefined) return undefined;
  const content = typeof fields.content === "string" ? fields.content : undefined;
  switch (type) {
    case "clientPrivateKeyGeneration":
      return deleteThen(main, tag, 2, [main, 0, "%KEYGEN", `${tag},2,1`, []]);
    case "certificateSigningRequest":
    case "cloudAccessKeyGeneration":
      return deleteThen(main, tag, 2, [main, 0, "%KEYGEN", csrParameters(tag, fields), []]);
    case "serverCertificate":
    case "clientCertificate": {
      if (content === undefined) return undefined;
      const credentialType = type === "serverCertificate" ? 0 : 1;
      return deleteThen(main, tag, credentialType, [
        main,
        0,
        "%CMNG",
        `0,${tag},${credentialType},${quoted(content)}`,
        [],
      ]);
    }
    case "clientPrivateKey":
      return content === undefined
        ? undefined
        : deleteThen(main, tag, 2, [main, 0, "%CMNG", `0,${tag},2,${quoted(content)}`, []]);
    default:
      return undefined;
  }
};

/** Device → service: `[corr, 99, cme, message]`, `[corr, 100, message]`, `[corr, 101]`, `[corr, 102]`. */
export type WireResponse =
  | { correlationId: string; kind: "error"; cmeError: number; message: string }
  | { correlationId: string; kind: "at"; message: string }
  | { correlationId: string; kind: "config-ack" }
  | { correlationId: string; kind: "finished-ack" };

/** Reads the device's response array; null when it is not one (the service answers 400). */
export function readWireResponses(decoded: unknown): WireResponse[] | null {
  if (!Array.isArray(decoded) || decoded.length === 0) return null;
  const responses: WireResponse[] = [];
  for (const item of decoded) {
    if (!Array.isArray(item) || typeof item[0] !== "string") return null;
    const [correlationId, kind, a, b] = item as [string, unknown, unknown, unknown];
    if (kind === 99 && typeof a === "number" && typeof b === "string") {
      responses.push({ correlationId, kind: "error", cmeError: a, message: b });
    } else if (kind === 100 && typeof a === "string") {
      responses.push({ correlationId, kind: "at", message: a });
    } else if (kind === 101) responses.push({ correlationId, kind: "config-ack" });
    else if (kind === 102) responses.push({ correlationId, kind: "finished-ack" });
    else return null;
  }
  return responses;
}

/** The `"<b64url>.<b64url>"` blob in a `%KEYGEN` answer (with or without the `%KEYGEN: ` line, `OK`). */
export function keygenBlob(message: string): string {
  const inQuotes = /"([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?)"/.exec(message)?.[1];
  if (inQuotes !== undefined) return inQuotes;
  return /[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]+)?/.exec(message)?.[0] ?? message.trim();
}

/** Command types whose device answer is a key or CSR blob the owner reads back. */
export const KEYGEN_COMMAND_TYPES: readonly string[] = [
  "clientPrivateKeyGeneration",
  "certificateSigningRequest",
  "cloudAccessKeyGeneration",
];
