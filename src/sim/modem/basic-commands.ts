import { firmwareUuid, hardwareVersionForModel } from "./identity.js";
import { intParam, stringParam } from "./params.js";
import { type AtRequest, error, type Handler, type ModemState, ok, type Reply } from "./state.js";

const cfunModes = [0, 1, 2, 4, 20, 21, 30, 31, 40, 41, 44];

export const at: Handler = (_state, request) => (request.op === "exec" ? ok() : error());

export const cmee: Handler = (state, request) => {
  if (request.op === "read") return ok(`+CMEE: ${state.cmee ? 1 : 0}`);
  if (request.op === "test") return ok("+CMEE: (0,1)");
  const mode = intParam(request.params[0]);
  if (request.op !== "set" || request.params.length !== 1 || (mode !== 0 && mode !== 1))
    return error();
  state.cmee = mode === 1;
  return ok();
};

export const cfun: Handler = (state, request) => {
  if (request.op === "read") return ok(`+CFUN: ${state.functionalMode}`);
  if (request.op === "test") return ok(`+CFUN: (${cfunModes.join(",")})`);
  const mode = intParam(request.params[0]);
  if (
    request.op !== "set" ||
    request.params.length !== 1 ||
    mode === undefined ||
    !cfunModes.includes(mode)
  ) {
    return error();
  }
  state.functionalMode = mode;
  return ok();
};

export const cgsn: Handler = (state, request) => {
  const form = request.op === "exec" ? 0 : intParam(request.params[0]);
  if (form === 0) return ok(state.imei);
  if (form === 1) return ok(`+CGSN: "${state.imei}"`);
  return error();
};

/** A command that only answers one fixed line when executed. */
function fixed(line: (state: ModemState) => string): Handler {
  return (state: ModemState, request: AtRequest): Reply =>
    request.op === "exec" ? ok(line(state)) : error();
}

export const cgmr = fixed((state) => state.firmware);
export const cgmm = fixed((state) => state.model);
export const cgmi = fixed(() => "Nordic Semiconductor ASA");
export const hwversion = fixed((state) => `%HWVERSION: ${hardwareVersionForModel(state.model)}`);
export const xmodemuuid = fixed((state) => `%XMODEMUUID: ${firmwareUuid(state.firmware)}`);

const two = (n: number) => String(n).padStart(2, "0");

/** `yy/MM/dd,hh:mm:ss±zz` (local time, zone in quarter hours), or null while the time is unknown. */
function clockText(state: ModemState): string | null {
  const now = state.now();
  if (now === null) return null;
  const local = new Date(now + state.timeZoneQuarters * 15 * 60_000);
  const zone = state.timeZoneQuarters;
  return (
    `${two(local.getUTCFullYear() % 100)}/${two(local.getUTCMonth() + 1)}/${two(local.getUTCDate())},` +
    `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}` +
    `${zone < 0 ? "-" : "+"}${two(Math.abs(zone))}`
  );
}

/**
 * `AT%CCLK?` → `%CCLK: "yy/MM/dd,hh:mm:ss±zz",<dst>` (the form nrf_cloud_jwt.c shows); ERROR
 * while the time is unknown. The firmware's JWT code checks it before asking for a JWT.
 */
export const proprietaryCclk: Handler = (state, request) => {
  const text = request.op === "read" ? clockText(state) : null;
  return text === null ? error() : ok(`%CCLK: "${text}",0`);
};

/** `+CCLK: "yy/MM/dd,hh:mm:ss±zz"` (local time, zone in quarter hours); ERROR while unknown. */
export const cclk: Handler = (state, request) => {
  if (request.op === "read") {
    const text = clockText(state);
    return text === null ? error() : ok(`+CCLK: "${text}"`);
  }
  const text = stringParam(request.params[0]);
  const match = text && /^(\d{2})\/(\d{2})\/(\d{2}),(\d{2}):(\d{2}):(\d{2})([+-]\d{2})$/.exec(text);
  if (request.op !== "set" || request.params.length !== 1 || !match) return error();
  const [yy, mo, dd, hh, mi, ss, zz] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const local = Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss);
  // Reject dates Date.UTC would roll over (31 February) and out-of-range fields.
  const valid =
    new Date(local).getUTCDate() === dd && mo >= 1 && mo <= 12 && hh < 24 && mi < 60 && ss < 60;
  if (!valid || Math.abs(zz) > 96) return error();
  state.setTime(local - zz * 15 * 60_000, zz);
  return ok();
};
