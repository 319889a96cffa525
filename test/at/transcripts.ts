import { readVector } from "../vectors.js";

/** One command and the modem lines printed after it, from an nrfcloud-utils transcript. */
export interface Exchange {
  command: string;
  received: string[];
}

function quotesBalanced(text: string): boolean {
  return (text.split('"').length - 1) % 2 === 0;
}

/**
 * Reads a transcript (`-> ` sent, `<- ` received, anything else printed by the tool).
 * A sent command with an open quote continues on the following lines (a PEM).
 */
export function readTranscript(name: string): Exchange[] {
  const exchanges: Exchange[] = [];
  let openCommand: string | undefined;
  for (const line of readVector(name).split(/\r?\n/)) {
    if (openCommand !== undefined) {
      openCommand += `\n${line}`;
      if (quotesBalanced(openCommand)) {
        exchanges.push({ command: openCommand, received: [] });
        openCommand = undefined;
      }
    } else if (line.startsWith("-> ")) {
      const command = line.slice(3);
      if (quotesBalanced(command)) exchanges.push({ command, received: [] });
      else openCommand = command;
    } else if (line.startsWith("<- ")) {
      exchanges.at(-1)?.received.push(line.slice(3));
    }
  }
  return exchanges;
}

/** The `serial_*` vectors: the wire reply to one command, CRLF included. */
export const serialReplies: ReadonlyArray<{ file: string; command: string; lines: number }> = [
  { file: "serial_cgsn_response.txt", command: "AT+CGSN", lines: 1 },
  { file: "serial_cgmm_response_nrf9151.txt", command: "AT+CGMM", lines: 1 },
  {
    file: "serial_keygen_response_sectag52_uuid50363953.txt",
    command: "AT%KEYGEN=52,2,0",
    lines: 1,
  },
  { file: "serial_attesttoken_response.txt", command: "AT%ATTESTTOKEN", lines: 1 },
];

export const transcriptNames = [
  "transcript_2021_nrf9160dk_windows_edited.txt",
  "transcript_2021_thingy91_linux_edited.txt",
] as const;

/** The modem→host byte stream of a transcript: every received line with CR LF. */
export function modemStream(exchanges: Exchange[]): string {
  return exchanges.flatMap((exchange) => exchange.received.map((line) => `${line}\r\n`)).join("");
}
