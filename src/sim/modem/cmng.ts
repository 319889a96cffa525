import { createHash, createPrivateKey, type KeyObject } from "node:crypto";
import { type AtParam, intParam, stringParam } from "./params.js";
import {
  Cme,
  cme,
  credentialChangeRefusal,
  error,
  type Handler,
  MAX_USER_SEC_TAG,
  type ModemState,
  ok,
  type Reply,
} from "./state.js";

/** Types `%CMNG=0` may write (0 root CA … 6 device identity public key). */
const WRITABLE_TYPES = new Set([0, 1, 2, 3, 4, 5, 6]);
/** Client certificate, private key and PSK cannot be read back (nrf91-at.md §5). */
const UNREADABLE_TYPES = new Set([1, 2, 3]);
const MAX_PASSWORD_LENGTH = 32;

export function sha256Upper(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex").toUpperCase();
}

/** The hash in list output needs mfw ≥ 1.3.2; older firmware lists without it. */
function listsHashes(firmware: string): boolean {
  const version = /(?:^|[_-])(\d+)\.(\d+)\.(\d+)(?:$|[_-])/.exec(firmware);
  if (!version) return true;
  const [major, minor, patch] = version.slice(1).map(Number) as [number, number, number];
  return major > 1 || (major === 1 && (minor > 3 || (minor === 3 && patch >= 2)));
}

function tryPrivateKey(type: number, content: string): KeyObject | undefined {
  if (type !== 2) return undefined;
  try {
    return createPrivateKey(content);
  } catch {
    return undefined; // Stored as written; %JWT with it later answers 514 (key unreadable).
  }
}

function write(state: ModemState, params: AtParam[]): Reply {
  const secTag = intParam(params[1]);
  const type = intParam(params[2]);
  const content = stringParam(params[3]);
  const password = params[4];
  if (secTag === undefined || type === undefined || content === undefined || params.length > 5)
    return error();
  // An empty content is not allowed (ATREF cmng_set).
  if (content === "") return error();
  if (password && (password.kind !== "string" || password.value.length > MAX_PASSWORD_LENGTH))
    return error();
  if (!WRITABLE_TYPES.has(type)) return cme(Cme.notAllowed);
  const refusal = credentialChangeRefusal(state, secTag);
  if (refusal) return refusal;
  const privateKey = tryPrivateKey(type, content);
  state.credentials.set({
    secTag,
    type,
    content,
    sha256: sha256Upper(Buffer.from(content, "utf8")),
    privateKey,
  });
  return ok();
}

function list(state: ModemState, params: AtParam[]): Reply {
  const secTag = intParam(params[1]);
  const type = intParam(params[2]);
  if (
    params.length > 3 ||
    (params.length >= 2 && secTag === undefined) ||
    (params.length === 3 && type === undefined)
  ) {
    return error();
  }
  const withHash = listsHashes(state.firmware);
  // The modem's reserved entries come after the user's, unsorted, as in Nordic's SDK test data.
  const user = [...state.credentials.values()].sort(
    (a, b) => a.secTag - b.secTag || a.type - b.type,
  );
  const lines = [...user, ...state.reservedCredentials]
    .filter(
      (c) =>
        (secTag === undefined || c.secTag === secTag) && (type === undefined || c.type === type),
    )
    .map((c) => `%CMNG: ${c.secTag},${c.type}${withHash ? `,"${c.sha256}"` : ""}`);
  return ok(...lines);
}

/** The `<sec_tag>,<type>` a read or delete addresses, or the reply refusing it. */
function target(params: AtParam[]): { secTag: number; type: number } | Reply {
  const secTag = intParam(params[1]);
  const type = intParam(params[2]);
  if (secTag === undefined || type === undefined || params.length !== 3) return error();
  if (secTag > MAX_USER_SEC_TAG) return cme(Cme.notAllowed);
  return { secTag, type };
}

function isReply(value: object): value is Reply {
  return "final" in value;
}

function read(state: ModemState, params: AtParam[]): Reply {
  const address = target(params);
  if (isReply(address)) return address;
  const found = state.credentials.get(address.secTag, address.type);
  if (!found) return cme(Cme.notFound);
  if (UNREADABLE_TYPES.has(found.type)) return cme(Cme.notAllowed);
  return ok(`%CMNG: ${found.secTag},${found.type},"${found.sha256}","${found.content}"`);
}

function remove(state: ModemState, params: AtParam[]): Reply {
  const address = target(params);
  if (isReply(address)) return address;
  const refusal = credentialChangeRefusal(state, address.secTag);
  if (refusal) return refusal;
  return state.credentials.delete(address.secTag, address.type) ? ok() : cme(Cme.notFound);
}

/** `AT%CMNG=<opcode>[,<sec_tag>[,<type>[,<content>[,<passwd>]]]]` (nrf91-at.md §5). */
export const cmng: Handler = (state, request) => {
  if (request.op !== "set") return error();
  switch (intParam(request.params[0])) {
    case 0:
      return write(state, request.params);
    case 1:
      return list(state, request.params);
    case 2:
      return read(state, request.params);
    case 3:
      return remove(state, request.params);
    default:
      return error();
  }
};
