import { type Command, Option } from "commander";
import type { SimTerminator, SimUrcLevel } from "../../sim/modem/index.js";
import * as cli from "../context.js";
import { registerSimCloud } from "./sim-cloud.js";
import {
  addDeviceAgentOptions,
  type DeviceAgentCliOptions,
  startAgentFrom,
} from "./sim-device-agent.js";
import { registerSimProvisioning } from "./sim-provisioning.js";

interface SimModemCliOptions extends DeviceAgentCliOptions {
  link?: string;
  imei?: string;
  uuid?: string;
  seed?: string;
  model?: string;
  firmware?: string;
  keygenMs: string;
  latencyMs: string;
  functionalMode: string;
  terminator: string;
  shell?: boolean;
  lfUnescape: boolean;
  urcs: SimUrcLevel;
  reservedCredentials: boolean;
  networkTime?: boolean;
  json?: boolean;
}

const terminators: Record<string, SimTerminator> = { cr: "\r", lf: "\n", crlf: "\r\n" };

/** `sim modem`: a simulated nRF91 on a socat pseudo-terminal pair until Ctrl-C. */
function registerSimModem(sim: Command, ctx: cli.CliContext): void {
  const command = sim
    .command("modem")
    .description(
      "Run a simulated nRF91 board on a pseudo-terminal; pass the printed path to --port. Ctrl-C stops it.",
    )
    .option("--link <path>", "create the port at this path (default: a temporary path)")
    .option("--imei <imei>", "15-digit IMEI (default: random, with a valid check digit)")
    .option("--uuid <uuid>", "device UUID (default: random)")
    .option(
      "--seed <seed>",
      "derive IMEI, UUID and identity key from this seed (reproducible boards)",
    )
    .option("--model <model>", "AT+CGMM model", "nRF9160-SICA")
    .option("--firmware <version>", "AT+CGMR modem firmware", "mfw_nrf9160_1.3.5")
    .option("--keygen-ms <ms>", "how long AT%KEYGEN takes", "0")
    .option("--latency-ms <ms>", "delay before every response", "0")
    .option("--functional-mode <n>", "initial AT+CFUN mode", "1")
    .option("--terminator <cr|lf|crlf>", "command terminator the simulated AT host expects", "crlf")
    .option("--shell", "behave like Zephyr shell firmware (uart:~$ prompt, `at <cmd>`)")
    .option(
      "--no-lf-unescape",
      "shell firmware without CONFIG_AT_SHELL_UNESCAPE_LF: \\n in AT%CMNG=0 stays two characters",
    )
    .addOption(
      new Option(
        "--urcs <level>",
        "unsolicited lines: around AT+CFUN changes (cfun), also before every answer (chatty), or none",
      )
        .choices(["none", "cfun", "chatty"])
        .default("cfun"),
    )
    .option(
      "--no-reserved-credentials",
      "a fresh board without the modem's own entries in sec tags 4294967292-4294967294",
    )
    .option(
      "--no-network-time",
      "start without the network's time, like a board not yet attached (AT%JWT then fails)",
    )
    .option("--json", "print {port, imei, deviceUuid, identityPublicKeyPem} as JSON")
    .action((options: SimModemCliOptions) => modemAction(ctx, options));
  addDeviceAgentOptions(command);
}

async function modemAction(ctx: cli.CliContext, options: SimModemCliOptions): Promise<void> {
  const terminator = terminators[options.terminator.toLowerCase()];
  if (!terminator)
    throw cli.usageError(`--terminator must be cr, lf or crlf, got "${options.terminator}"`);
  const { startSimModemOnPty } = await import("../../sim/modem/index.js");
  const sim = await startSimModemOnPty({
    // An empty flag value means the default, as no flag does.
    linkPath: options.link || undefined,
    imei: options.imei || undefined,
    deviceUuid: options.uuid || undefined,
    seed: options.seed || undefined,
    // A connected board has the network's time (AT+CCLK?, %JWT iat/exp); so does this one.
    clock: options.networkTime === false ? undefined : Date.now,
    model: options.model,
    firmware: options.firmware,
    keygenMs: cli.parseIntegerOption("--keygen-ms", options.keygenMs, { min: 0 }),
    latencyMs: cli.parseIntegerOption("--latency-ms", options.latencyMs, { min: 0 }),
    functionalMode: cli.parseIntegerOption("--functional-mode", options.functionalMode, { min: 0 }),
    terminator,
    shellMode: options.shell ?? false,
    shellLfUnescape: options.lfUnescape,
    urcs: options.urcs,
    reservedCredentials: options.reservedCredentials,
  });
  // Listen for Ctrl-C (and SIGTERM, SIGHUP) before saying where we listen: a script may interrupt right away.
  const stopped = ctx.io.stopped;
  const { modem } = sim;
  const stopAgent = await startAgentFrom(options, modem, ctx.io.env);
  if (options.json) {
    cli.writeJson(ctx.io, {
      port: sim.path,
      imei: modem.imei,
      deviceUuid: modem.deviceUuid,
      identityPublicKeyPem: modem.identityPublicKeyPem,
    });
  } else {
    cli.writeLines(
      ctx.io,
      `Simulated ${options.model} on ${sim.path}`,
      `  IMEI ${modem.imei}, device UUID ${modem.deviceUuid}`,
      `  use: --port ${sim.path}`,
      "Press Ctrl-C to stop.",
    );
  }
  try {
    await stopped;
  } finally {
    await stopAgent?.();
    await sim.close();
  }
}

/** Registers `sim …`: simulators that stand in for hardware and nRF Cloud. */
export function register(program: Command, ctx: cli.CliContext): void {
  const sim = program
    .command("sim")
    .description("Run simulators (an nRF91 board, nRF Cloud) for rehearsals and tests.");
  registerSimModem(sim, ctx);
  registerSimCloud(sim, ctx);
  registerSimProvisioning(sim, ctx);
}
