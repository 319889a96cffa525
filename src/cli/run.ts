import { runCli } from "./main.js";

// Entry point of the `nrf-provision` binary.
process.exitCode = await runCli(process.argv.slice(2));
