import { createPublicKey } from "node:crypto";
import type { ByteTransport } from "../../serial/index.js";
import { SimError } from "../errors.js";
import {
  at,
  cclk,
  cfun,
  cgmi,
  cgmm,
  cgmr,
  cgsn,
  cmee,
  hwversion,
  proprietaryCclk,
  xmodemuuid,
} from "./basic-commands.js";
import { cmng, sha256Upper } from "./cmng.js";
import {
  generateDeviceUuid,
  generateIdentityKey,
  generateImei,
  generateSim,
  identitySource,
} from "./identity.js";
import { jwt } from "./jwt.js";
import { attestToken, keygen } from "./keygen.js";
import {
  cemode,
  cereg,
  cgact,
  cgdcont,
  cgerep,
  cimi,
  cind,
  cnec,
  deviceuuid,
  shortswver,
  xcband,
  xiccid,
  xsystemmode,
  xvbat,
} from "./network-commands.js";
import type { SimModemOptions } from "./options.js";
import { parseParams } from "./params.js";
import { SimSession } from "./session.js";
import {
  type AtRequest,
  CredentialStore,
  error,
  type Handler,
  type ModemState,
  ok,
  type Reply,
  type StoredCredential,
} from "./state.js";
import { UrcSource } from "./urcs.js";

const two = (n: number) => String(n).padStart(2, "0");

const handlers: Record<string, Handler> = {
  "": at,
  "+CMEE": cmee,
  "+CFUN": cfun,
  "+CGSN": cgsn,
  "+CGMR": cgmr,
  "+CGMM": cgmm,
  "+CGMI": cgmi,
  "+CCLK": cclk,
  "%CCLK": proprietaryCclk,
  "%HWVERSION": hwversion,
  "%XMODEMUUID": xmodemuuid,
  "%KEYGEN": keygen,
  "%CMNG": cmng,
  "%ATTESTTOKEN": attestToken,
  "%JWT": jwt,
  "+CEREG": cereg,
  "+CIND": cind,
  "+CGDCONT": cgdcont,
  "+CGACT": cgact,
  "+CGEREP": cgerep,
  "+CNEC": cnec,
  "+CEMODE": cemode,
  "+CIMI": cimi,
  "%XCBAND": xcband,
  "%XVBAT": xvbat,
  "%XSYSTEMMODE": xsystemmode,
  "%SHORTSWVER": shortswver,
  "%XICCID": xiccid,
  "%DEVICEUUID": deviceuuid,
};

/**
 * The modem's own entries every real board lists (sec tags 4294967292–4294967294, types 11, 10
 * and 6, in the order of Nordic's SDK test data). Type 6 is the device identity public key.
 */
function reservedCredentials(identityPublicKeyDer: Uint8Array): StoredCredential[] {
  const entry = (secTag: number, type: number, what: string | Uint8Array): StoredCredential => ({
    secTag,
    type,
    content: "",
    sha256: sha256Upper(typeof what === "string" ? `nrf-provision-sim:${what}` : what),
  });
  return [
    entry(4294967293, 10, "nordic-identity-root-ca"),
    entry(4294967294, 6, identityPublicKeyDer),
    entry(4294967292, 11, "nordic-base-public-key"),
  ];
}

/** `AT+CFUN=4` → {name "+CFUN", op "set", params [4]}; null if it is not an AT command. */
export function parseAtCommand(text: string): AtRequest | null {
  const match = /^AT([+%#][A-Za-z0-9]+)?(.*)$/is.exec(text);
  if (!match) return null;
  const name = (match[1] ?? "").toUpperCase();
  const rest = match[2] ?? "";
  if (rest === "") return { name, op: "exec", params: [] };
  if (rest === "?") return { name, op: "read", params: [] };
  if (rest === "=?") return { name, op: "test", params: [] };
  if (!rest.startsWith("=")) return null;
  const params = parseParams(rest.slice(1));
  return params ? { name, op: "set", params } : null;
}

/**
 * A simulated nRF91 modem: the AT command set nrf-provision uses, with real cryptography
 * (P-256 keys per sec tag, CSRs, COSE attestation signed by a simulated identity key whose
 * public key is exposed). Serve it on any byte transport with {@link attach}.
 */
export class SimModem {
  readonly imei: string;
  readonly deviceUuid: string;
  readonly identityPublicKeyPem: string;
  private readonly state: ModemState;
  private readonly sessions = new Set<SimSession>();
  private readonly urcs: UrcSource;
  private provisioningTrigger: ((source: "shell" | "at") => boolean) | undefined;

  constructor(private readonly options: SimModemOptions = {}) {
    const source = identitySource(options.seed);
    this.imei = options.imei ?? generateImei(source);
    if (!/^\d{15}$/.test(this.imei)) {
      throw new SimError(
        "ERR_USAGE",
        `simulated modem: IMEI must be 15 digits, got "${this.imei}"`,
      );
    }
    this.deviceUuid = (options.deviceUuid ?? generateDeviceUuid(source)).toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(this.deviceUuid)) {
      throw new SimError(
        "ERR_USAGE",
        `simulated modem: device UUID must be 8-4-4-4-12 hex, got "${this.deviceUuid}"`,
      );
    }
    const identityKey = generateIdentityKey(options.seed);
    const identityPublicKey = createPublicKey(identityKey);
    this.identityPublicKeyPem = identityPublicKey
      .export({ type: "spki", format: "pem" })
      .toString();
    this.urcs = new UrcSource(options.urcs ?? "cfun");
    const sim = generateSim(source);
    const baseClock = options.clock ?? Date.now;
    // Offset from the base clock; null while the modem does not know the time.
    let clockOffset: number | null = options.clock ? 0 : null;
    let timeZoneQuarters = 0;
    this.state = {
      imei: this.imei,
      deviceUuid: this.deviceUuid,
      model: options.model ?? "nRF9160-SICA",
      firmware: options.firmware ?? "mfw_nrf9160_1.3.5",
      identityKey,
      keygenMs: options.keygenMs ?? 0,
      corruptKeygenDigest: options.faults?.corruptKeygenDigest ?? false,
      functionalMode: options.functionalMode ?? 1,
      cmee: false,
      credentials: new CredentialStore(),
      reservedCredentials:
        options.reservedCredentials === false
          ? []
          : reservedCredentials(identityPublicKey.export({ type: "spki", format: "der" })),
      ceregLevel: 0,
      imsi: sim.imsi,
      iccid: sim.iccid,
      now: () => (clockOffset === null ? null : baseClock() + clockOffset),
      get timeZoneQuarters() {
        return timeZoneQuarters;
      },
      setTime: (epochMs, zone) => {
        clockOffset = epochMs - baseClock();
        timeZoneQuarters = zone;
      },
    };
  }

  get functionalMode(): number {
    return this.state.functionalMode;
  }

  set functionalMode(mode: number) {
    this.state.functionalMode = mode;
  }

  /** Serves AT on `transport` until it closes or the returned function is called. */
  attach(transport: ByteTransport): () => void {
    const session = new SimSession(transport, this.options, {
      execute: (command) => this.execute(command),
      render: (reply) => this.render(reply),
      onEnd: () => this.sessions.delete(session),
      provisioningShell: (args) => this.provisioningShell(args),
    });
    this.sessions.add(session);
    session.start();
    return () => session.stop();
  }

  /**
   * The application core's own AT channel (`nrf_modem_at_cmd`), for firmware libraries running
   * on the simulated device: plain AT, CR LF, no echo, no unsolicited lines; only the `cmeOn`
   * fault of the board applies.
   */
  attachInternal(transport: ByteTransport): () => void {
    const cmeOn = this.options.faults?.cmeOn;
    const options: SimModemOptions = {
      faults: cmeOn === undefined ? undefined : { cmeOn },
      onCommand: this.options.onCommand,
    };
    const session = new SimSession(transport, options, {
      execute: (command) => this.execute(command),
      render: (reply) => this.render(reply),
      onEnd: () => {},
    });
    session.start();
    return () => session.stop();
  }

  /**
   * Installs the firmware's `nrf_provisioning` trigger: the shell's `nrf_provisioning now` and
   * `AT#PROVSTART` (CONFIG_NRF_PROVISIONING_CUSTOM_AT) call it. Without one, both are unknown,
   * like firmware built without the library.
   */
  setProvisioningTrigger(trigger: ((source: "shell" | "at") => boolean) | undefined): void {
    this.provisioningTrigger = trigger;
  }

  /** Writes a Zephyr log line (`[uptime] <inf> module: text`) to every attached link. */
  log(level: "inf" | "wrn" | "err", module: string, text: string): void {
    const uptime = (performance.now() / 1000).toFixed(6).padStart(13, "0");
    const [seconds = "0", micros = "000000"] = uptime.split(".");
    const total = Number(seconds);
    const clock = `${two(Math.floor(total / 3600))}:${two(Math.floor(total / 60) % 60)}:${two(total % 60)}`;
    this.injectUrc(
      `[${clock}.${micros.slice(0, 3)},${micros.slice(3)}] <${level}> ${module}: ${text}`,
    );
  }

  /** `nrf_provisioning <args>` on the shell: the lines it prints, or null if there is no such command. */
  private provisioningShell(args: string[]): string[] | null {
    const trigger = this.provisioningTrigger;
    if (!trigger) return null;
    if (args[0] !== "now")
      return [
        "nrf_provisioning - nRF Provisioning commands",
        "Subcommands:",
        "  now  :Do provisioning now",
      ];
    return trigger("shell") ? [] : ["Provisioning is already in progress"];
  }

  /** Writes an unsolicited line (e.g. `+CEREG: 5`) to every attached link. */
  injectUrc(line: string): void {
    for (const session of this.sessions) session.writeUnsolicited(line);
  }

  /** The credential store, for assertions: exact content written and the hash `%CMNG=1` lists. */
  credentials(): Array<{ secTag: number; type: number; content: string; sha256: string }> {
    return [...this.state.credentials.values()]
      .sort((a, b) => a.secTag - b.secTag || a.type - b.type)
      .map(({ secTag, type, content, sha256 }: StoredCredential) => ({
        secTag,
        type,
        content,
        sha256,
      }));
  }

  private async execute(command: string): Promise<Reply> {
    const request = parseAtCommand(command);
    if (request?.name === "#PROVSTART") return this.provStart(request);
    const handler = request ? handlers[request.name] : undefined;
    if (!request || !handler) return { ...error(), before: this.urcs.beforeAnswer() };
    const modeBefore = this.state.functionalMode;
    const reply = await handler(this.state, request);
    const { before, after } = this.urcs.around(modeBefore, this.state.functionalMode);
    if (after.length > 0) {
      // The network reacts a moment after the modem said OK.
      setTimeout(() => {
        for (const line of after) this.injectUrc(line);
      }, 20).unref();
    }
    return { ...reply, before };
  }

  /** `AT#PROVSTART`: starts the provisioning client; ERROR without one or while it runs. */
  private provStart(request: AtRequest): Reply {
    const started = request.op === "exec" && this.provisioningTrigger?.("at") === true;
    return { ...(started ? ok() : error()), before: this.urcs.beforeAnswer() };
  }

  /** Final result line: numeric CME codes only after `AT+CMEE=1`, as on the modem. */
  private render(reply: Reply): string[] {
    const before = reply.before ?? [];
    if (reply.final === "OK") return [...before, ...reply.lines, "OK"];
    if (reply.final === "CME" && this.state.cmee) return [...before, `+CME ERROR: ${reply.code}`];
    return [...before, "ERROR"];
  }
}
