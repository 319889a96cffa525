import type { SimTerminator } from "./framer.js";

export type SimUrcLevel = "none" | "cfun" | "chatty";

/** Faults a simulated board can inject, to test that the host handles them. */
export interface SimModemFaults {
  /** Drop the link (as if unplugged) once this many bytes have been received on it. */
  dropAfterBytes?: number;
  /** A matching command (prefix, case-insensitive, or RegExp) never answers; nothing after it does either. */
  stallCommand?: string | RegExp;
  /** Flip a byte of the digest in every `%KEYGEN` COSE payload. */
  corruptKeygenDigest?: boolean;
  /** Answer commands starting with a key (case-insensitive) with that CME code, e.g. `{"AT%CMNG=0": 515}`. */
  cmeOn?: Record<string, number>;
}

export interface SimModemOptions {
  /** 15 digits; default a random IMEI with a valid Luhn check digit (or derived from `seed`). */
  imei?: string | undefined;
  /** Default random (or derived from `seed`). */
  deviceUuid?: string | undefined;
  /** Makes IMEI, device UUID and the identity key deterministic. */
  seed?: string | undefined;
  /** `AT+CGMM`; default `nRF9160-SICA`. */
  model?: string | undefined;
  /** `AT+CGMR`; default `mfw_nrf9160_1.3.5`. Below 1.3.2 `%CMNG` lists no hashes, like real firmware. */
  firmware?: string | undefined;
  /**
   * Initial `+CFUN` mode. Default 1: the board runs application firmware that switched the modem
   * on, so the host must go offline (CFUN=4) for key work and restore the mode afterwards.
   */
  functionalMode?: number;
  /** Echo each command line back before its response (AT mode). Default false, like AT_HOST. */
  echo?: boolean;
  /**
   * Zephyr shell firmware (Modem Shell, lib/at_shell): coloured prompt `uart:~$ `, echo, and
   * commands as `at <argument>`, split by Zephyr's rules; only `argv[1]` reaches the modem.
   */
  shellMode?: boolean;
  /**
   * Shell firmware turns each `\n` into CR LF in `AT%CMNG=0` commands
   * (`CONFIG_AT_SHELL_UNESCAPE_LF=y`, as Modem Shell). Default true; false rehearses firmware
   * without it, which stores the two characters.
   */
  shellLfUnescape?: boolean;
  /**
   * Unsolicited lines: `cfun` (default) the URCs and Zephyr log lines a board running an
   * application prints around `AT+CFUN` changes, as in a real nRF9160 DK transcript; `chatty`
   * also one before every answer; `none` nothing.
   */
  urcs?: SimUrcLevel;
  /**
   * The modem's own entries in reserved sec tags 4294967292–4294967294 (types 11, 10, 6), which
   * every real board lists. Default true.
   */
  reservedCredentials?: boolean;
  /** Called with each AT command exactly as the modem receives it (after the shell, if any). */
  onCommand?: ((command: string) => void) | undefined;
  /** Command terminator the simulated AT host expects. Default CR LF (as SLM). */
  terminator?: SimTerminator;
  /** Delay before each response. Default 0. */
  latencyMs?: number;
  /** Extra time `%KEYGEN` takes. Default 0. */
  keygenMs?: number;
  /**
   * Source of the current time (ms since the epoch). When given, the modem knows the time
   * (`AT+CCLK?` answers, `%JWT` can set `iat`/`exp`); otherwise only after `AT+CCLK="…"`.
   */
  clock?: (() => number) | undefined;
  /** Periodic unsolicited lines (URCs, Zephyr log lines) on every attached link. */
  noise?: { intervalMs: number; lines?: string[] };
  faults?: SimModemFaults | undefined;
}
