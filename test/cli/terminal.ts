import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { cliPath } from "./process.js";

const run = promisify(execFile);

/** Whether tmux (the terminal emulator these tests read screens from) is installed. */
export async function tmuxAvailable(): Promise<boolean> {
  return run("tmux", ["-V"]).then(
    () => true,
    () => false,
  );
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The built CLI running in a real pseudo-terminal of a given size, inside a private tmux
 * server (its own socket in `dir`): tmux is a full terminal emulator, so `screen()` is what a
 * user would see, after every cursor movement, erase and reflow the CLI caused.
 */
export class CliInTerminal {
  private constructor(
    private readonly socket: string,
    private readonly exitFile: string,
  ) {}

  static async start(
    args: string[],
    options: { dir: string; columns: number; rows: number; env?: Record<string, string> },
  ): Promise<CliInTerminal> {
    const { dir } = options;
    const socket = join(dir, "tmux.sock");
    const exitFile = join(dir, "exit-code");
    const config = join(dir, "tmux.conf");
    const script = join(dir, "run.sh");
    // No status line: the pane is the whole terminal, columns × rows.
    await writeFile(config, "set -g status off\nset -g history-limit 5000\n");
    const exports = Object.entries(options.env ?? {}).map(
      ([name, value]) => `export ${name}=${shellQuote(value)}`,
    );
    await writeFile(
      script,
      [
        ...exports,
        `cd ${shellQuote(dir)}`,
        [process.execPath, cliPath, ...args].map(shellQuote).join(" "),
        `echo $? > ${shellQuote(exitFile)}`,
        // Keep the pane (and its screen) until the test has read it.
        "exec sleep 600",
      ].join("\n"),
    );
    const size = ["-x", String(options.columns), "-y", String(options.rows)];
    await run("tmux", ["-S", socket, "-f", config, "new-session", "-d", ...size, "sh", script]);
    return new CliInTerminal(socket, exitFile);
  }

  private tmux(...args: string[]): Promise<string> {
    return run("tmux", ["-S", this.socket, ...args]).then((result) => result.stdout);
  }

  /** The visible screen, one string per row (trailing blanks trimmed by tmux). */
  async screen(): Promise<string[]> {
    return (await this.tmux("capture-pane", "-p")).replace(/\n$/, "").split("\n");
  }

  /** The scroll-back history and the screen, wrapped rows joined into their lines. */
  async transcript(): Promise<string[]> {
    return (await this.tmux("capture-pane", "-p", "-J", "-S", "-")).replace(/\n+$/, "").split("\n");
  }

  /** Resizes the terminal, as a user dragging the window would (the CLI gets SIGWINCH). */
  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux("resize-window", "-x", String(columns), "-y", String(rows));
  }

  /** Waits until the screen satisfies `done`, or the command ended. */
  async until(done: (screen: string[]) => boolean, timeoutMs = 60_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (done(screen) || existsSync(this.exitFile)) return screen;
      if (Date.now() > deadline) throw new Error(`screen never matched:\n${screen.join("\n")}`);
      await sleep(100);
    }
  }

  /** The CLI's exit code, once it has ended. */
  async exitCode(timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.exitFile)) {
      if (Date.now() > deadline) {
        throw new Error(`the command did not end; screen:\n${(await this.screen()).join("\n")}`);
      }
      await sleep(100);
    }
    // The file may be seen before `echo` has written it.
    for (;;) {
      const text = (await readFile(this.exitFile, "utf8")).trim();
      if (text !== "") return Number(text);
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    await this.tmux("kill-server").catch(() => {});
  }
}
