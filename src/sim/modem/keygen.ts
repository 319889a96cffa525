import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
  buildAttestationPayload,
  buildKeygenPayload,
  CoseKeyId,
  encodeCoseSign1,
  KeygenMessageType,
} from "../../attest/index.js";
import { sha256Upper } from "./cmng.js";
import { buildModemCsr, parseSubjectAttributes, type SubjectAttribute } from "./csr.js";
import { deviceTypeForModel, firmwareUuid } from "./identity.js";
import { intParam, stringParam } from "./params.js";
import {
  Cme,
  cme,
  credentialChangeRefusal,
  error,
  type Handler,
  type ModemState,
  ok,
} from "./state.js";

const CLIENT_PRIVATE_KEY = 2;
const ENDORSEMENT_KEY = 8;

const uuidBytes = (uuid: string) => Buffer.from(uuid.replaceAll("-", ""), "hex");
const base64Url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/**
 * The key for `%KEYGEN`: type 2 is always a new client key (replacing any in the tag); type 8,
 * the device endorsement key, is reused when the tag has one and created when it has none.
 */
function keyFor(state: ModemState, secTag: number, keyType: number) {
  const existing = state.credentials.get(secTag, keyType)?.privateKey;
  if (keyType === ENDORSEMENT_KEY && existing) return existing;
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // The list hash of a generated key is not predictable by the host (nrf91-at.md §5).
  const sha256 = sha256Upper(privateKey.export({ type: "pkcs8", format: "der" }));
  state.credentials.set({ secTag, type: keyType, content: "", sha256, privateKey });
  return privateKey;
}

/**
 * `AT%KEYGEN=<sec_tag>,<key_type>[,<content>][,"<attributes>"][,"<key_usage>"]` → CSR (content 0,
 * the default here) or SubjectPublicKeyInfo (1), plus a COSE_Sign1 attestation signed by the
 * simulated identity key, exactly in the modem's layout (nrf91-at.md §4.3).
 */
export const keygen: Handler = async (state, request) => {
  const [tagParam, typeParam, contentParam, attributesParam, keyUsageParam, ...extra] =
    request.params;
  const secTag = intParam(tagParam);
  const keyType = intParam(typeParam);
  const content = contentParam === undefined ? 0 : intParam(contentParam);
  if (request.op !== "set" || secTag === undefined || extra.length > 0) return error();
  if (keyType !== CLIENT_PRIVATE_KEY && keyType !== ENDORSEMENT_KEY) return error();
  if (content !== 0 && content !== 1) return error();
  if (attributesParam && attributesParam.kind !== "string") return error();
  const keyUsage = keyUsageParam === undefined ? undefined : stringParam(keyUsageParam);
  if (keyUsageParam !== undefined && (keyUsage === undefined || !/^[01]{9}$/.test(keyUsage))) {
    return cme(Cme.incorrectParameters);
  }
  let subject: SubjectAttribute[] | null = [["CN", state.deviceUuid]];
  const attributes = stringParam(attributesParam);
  if (attributes) {
    subject = parseSubjectAttributes(attributes);
    if (!subject) return cme(Cme.incorrectParameters);
  }
  const refusal = credentialChangeRefusal(state, secTag);
  if (refusal) return refusal;

  const privateKey = keyFor(state, secTag, keyType);
  if (state.keygenMs > 0) await delay(state.keygenMs);

  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const body =
    content === 1
      ? spki
      : buildModemCsr({
          subject,
          spki,
          privateKey,
          keyUsage: keyUsage || undefined,
        });
  const digest = createHash("sha256").update(body).digest();
  if (state.corruptKeygenDigest) digest[0] = (digest[0] ?? 0) ^ 0xff;
  const payload = buildKeygenPayload({
    messageType: content === 1 ? KeygenMessageType.publicKey : KeygenMessageType.csr,
    deviceUuid: uuidBytes(state.deviceUuid),
    secTag,
    digest,
    nonce: randomBytes(16),
  });
  const cose = encodeCoseSign1({
    payload,
    privateKey: state.identityKey,
    keyId: CoseKeyId.identityKey,
  });
  return ok(`%KEYGEN: "${base64Url(body)}.${base64Url(cose)}"`);
};

/**
 * `AT%ATTESTTOKEN[="<32 hex nonce>"]` → device identity message v1 and a detached-payload
 * COSE_Sign1 signed by the identity key (nrf91-at.md §6).
 */
export const attestToken: Handler = (state, request) => {
  const challenge = request.op === "set" ? stringParam(request.params[0]) : undefined;
  if (
    request.op === "set" &&
    (request.params.length !== 1 || !challenge || !/^[0-9a-f]{32}$/i.test(challenge))
  ) {
    return error();
  }
  if (request.op !== "exec" && request.op !== "set") return error();
  const message = buildAttestationPayload({
    deviceUuid: uuidBytes(state.deviceUuid),
    deviceType: deviceTypeForModel(state.model),
    modemFirmwareUuid: uuidBytes(firmwareUuid(state.firmware)),
    nonce: challenge ? Buffer.from(challenge, "hex") : randomBytes(16),
  });
  const cose = encodeCoseSign1({ payload: message, privateKey: state.identityKey, detached: true });
  return ok(`%ATTESTTOKEN: "${base64Url(message)}.${base64Url(cose)}"`);
};
