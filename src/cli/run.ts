// Entry point of the `nrf-provision` binary.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  // What commander prints for it, without loading commander or any command (start-up, issue 12).
  const { packageVersion } = await import("./version.js");
  process.stdout.write(`${packageVersion}\n`);
} else {
  const { runCli } = await import("./main.js");
  process.exitCode = await runCli(argv);
}
