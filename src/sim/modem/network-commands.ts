import { intParam } from "./params.js";
import { error, type Handler, type ModemState, ok } from "./state.js";

/**
 * Everyday commands a host or a tool may send besides provisioning, answered with plausible
 * values of a board on a home LTE-M network (registered while CFUN=1, detached otherwise).
 */

const registered = (state: ModemState) => state.functionalMode === 1;
/** The UICC is off in CFUN 0 and 4 (44 is flight mode with the UICC on). */
const uiccOn = (state: ModemState) => state.functionalMode !== 0 && state.functionalMode !== 4;

/** A read-only command (`AT<name>?`) with one answer line. */
function readOnly(line: (state: ModemState) => string): Handler {
  return (state, request) => (request.op === "read" ? ok(line(state)) : error());
}

/** A command executed without parameters (`AT<name>`) with one answer line. */
function executed(line: (state: ModemState) => string | null): Handler {
  return (state, request) => {
    if (request.op !== "exec") return error();
    const text = line(state);
    return text === null ? error() : ok(text);
  };
}

/** `+CEREG: <n>,<stat>[,"<tac>","<ci>",<AcT>[,,,"<active>","<periodic-TAU>"]]` by report level. */
function ceregLine(state: ModemState): string {
  const n = state.ceregLevel;
  if (!registered(state)) return `+CEREG: ${n},${state.functionalMode === 0 ? 0 : 4}`;
  if (n < 2) return `+CEREG: ${n},1`;
  const location = '"702A","08C3BD0C",7';
  return n < 4
    ? `+CEREG: ${n},1,${location}`
    : `+CEREG: ${n},1,${location},,,"11100000","11100000"`;
}

export const cereg: Handler = (state, request) => {
  if (request.op === "read") return ok(ceregLine(state));
  if (request.op === "test") return ok("+CEREG: (0-5)");
  const level = intParam(request.params[0]);
  if (request.op !== "set" || request.params.length !== 1 || level === undefined || level > 5)
    return error();
  state.ceregLevel = level;
  return ok();
};

export const cind = readOnly((state) => `+CIND: ${registered(state) ? 1 : 0},0,0`);

export const cgdcont = readOnly((state) =>
  registered(state)
    ? '+CGDCONT: 0,"IPV4V6","iot.nordic","10.160.75.191 2A02:2121:0:0:0:0:0:1",0,0'
    : '+CGDCONT: 0,"IPV4V6","","",0,0',
);

export const cgact = readOnly((state) => `+CGACT: 0,${registered(state) ? 1 : 0}`);
export const cgerep = readOnly(() => "+CGEREP: 0,0");
export const cnec = readOnly(() => "+CNEC: 0");
export const cemode = readOnly(() => "+CEMODE: 0");
export const xsystemmode = readOnly(() => "%XSYSTEMMODE: 1,1,0,0");

export const xcband: Handler = (state, request) => {
  if (request.op === "test") return ok("%XCBAND: (1,2,3,4,5,8,12,13,17,18,19,20,25,26,28,66)");
  if (request.op === "exec") return registered(state) ? ok("%XCBAND: 20") : ok("%XCBAND: 0");
  return error();
};

/** Supply voltage in mV: a DK powered over USB. */
export const xvbat = executed(() => "%XVBAT: 5015");

/** `mfw_nrf9160_1.3.5` → `%SHORTSWVER: nrf9160_1.3.5`. */
export const shortswver = executed(
  (state) => `%SHORTSWVER: ${state.firmware.replace(/^mfw_/i, "")}`,
);

export const cimi = executed((state) => (uiccOn(state) ? state.imsi : null));
export const xiccid = executed((state) => (uiccOn(state) ? `%XICCID: ${state.iccid}` : null));

/** nRF91x1 firmware (mfw_nrf91x1_…) answers `%DEVICEUUID`; nRF9160 firmware does not know it. */
export const deviceuuid = executed((state) =>
  /nrf91x1/i.test(state.firmware) ? `%DEVICEUUID: ${state.deviceUuid}` : null,
);
