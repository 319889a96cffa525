import { type KeyObject, randomBytes, sign } from "node:crypto";
import { intParam, stringParam } from "./params.js";
import { Cme, cme, error, type Handler, ok } from "./state.js";

const base64UrlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * `AT%JWT=[<alg>],[<exp_delta>],["<subject>"],["<audience>"][,<sec_tag>,<key_type>]` → an ES256
 * JWT signed by the identity key (`iss` = `<chip>.<device UUID>`) or the key in `<sec_tag>`
 * (nrf91-at.md §7). The simulator needs the modem time only when `iat`/`exp` are requested
 * (`<exp_delta>` > 0) and answers CME 525 (JWT creation error) while it is unknown.
 */
export const jwt: Handler = (state, request) => {
  if (request.op !== "set") return error();
  const [algParam, expParam, subjectParam, audienceParam, tagParam, typeParam, ...extra] =
    request.params;
  const alg = algParam === undefined || algParam.kind === "empty" ? 0 : intParam(algParam);
  const expDelta = expParam === undefined || expParam.kind === "empty" ? 0 : intParam(expParam);
  const optionalString = (param: typeof subjectParam) =>
    param === undefined || param.kind === "empty" ? null : (stringParam(param) ?? false);
  const subject = optionalString(subjectParam);
  const audience = optionalString(audienceParam);
  if (
    alg !== 0 ||
    expDelta === undefined ||
    subject === false ||
    audience === false ||
    extra.length > 0
  ) {
    return cme(Cme.incorrectParameters);
  }
  if ((tagParam === undefined) !== (typeParam === undefined)) return cme(Cme.incorrectParameters);

  let key: KeyObject = state.identityKey;
  let issuer: string | null = `${state.model.split("-")[0]}.${state.deviceUuid}`;
  if (tagParam !== undefined) {
    const secTag = intParam(tagParam);
    const keyType = intParam(typeParam);
    if (secTag === undefined || (keyType !== 2 && keyType !== 8))
      return cme(Cme.incorrectParameters);
    const credential = state.credentials.get(secTag, keyType);
    if (!credential) return cme(Cme.notFound);
    if (!credential.privateKey) return cme(Cme.notAllowed);
    key = credential.privateKey;
    issuer = null;
  }

  const now = state.now();
  if (expDelta > 0 && now === null) return cme(Cme.jwtCreationFailed);
  const iat = now === null ? null : Math.floor(now / 1000);
  const expires = expDelta > 0 && iat !== null;
  // A claim the command left empty is undefined here, and so absent from the JSON.
  const claims = {
    iss: issuer || undefined,
    jti: randomBytes(16).toString("hex"),
    sub: subject || undefined,
    aud: audience || undefined,
    iat: expires ? iat : undefined,
    exp: expires && iat !== null ? iat + expDelta : undefined,
  };
  const signingInput = `${base64UrlJson({ typ: "JWT", alg: "ES256" })}.${base64UrlJson(claims)}`;
  const signature = sign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" });
  return ok(`%JWT: "${signingInput}.${signature.toString("base64url")}"`);
};
