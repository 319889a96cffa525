/**
 * PEM armour (RFC 7468) as nRF Cloud and the modem expect it: standard base64 in 64-column
 * lines, LF line ends, a trailing LF.
 */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  let body = "";
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** One PEM block found in a text. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const DASHES = "-----";
const BEGIN = "-----BEGIN ";
const LABEL = /^[A-Z0-9]+(?: [A-Z0-9]+)*$/;
/** Longest label accepted (RFC 7468 labels are short: "ENCRYPTED PRIVATE KEY" is 21). */
const MAX_LABEL_LENGTH = 64;

/**
 * Every PEM block in `text`, in order, in one pass: O(length of text) whatever it holds.
 * A block's body holds no "-----", so the END line must be the next "-----" after the BEGIN
 * line; a BEGIN without that END is not a block and the scan goes on from where it stopped.
 * (A regex with a lazy body and a back-reference instead rescans to the end of the text for
 * every BEGIN: 1 MB of BEGIN lines took 30 s.)
 */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let position = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, position);
    if (begin < 0) break;
    const labelStart = begin + BEGIN.length;
    const labelEnd = text.indexOf(DASHES, labelStart);
    if (labelEnd < 0) break;
    position = labelEnd;
    const label = text.slice(labelStart, labelEnd);
    if (label.length > MAX_LABEL_LENGTH || !LABEL.test(label)) continue;
    const bodyStart = labelEnd + DASHES.length;
    const end = text.indexOf(DASHES, bodyStart);
    if (end < 0) break;
    position = end;
    const endLine = `-----END ${label}-----`;
    if (!text.startsWith(endLine, end)) continue;
    const der = Buffer.from(text.slice(bodyStart, end).replace(/\s+/g, ""), "base64");
    blocks.push({ label, der: new Uint8Array(der.buffer, der.byteOffset, der.byteLength) });
    position = end + endLine.length;
  }
  return blocks;
}

/** The DER of every PEM block with one of `labels`, in order of appearance. */
export function fromPemAll(text: string, labels: readonly string[]): Uint8Array[] {
  return pemBlocks(text)
    .filter((block) => labels.includes(block.label))
    .map((block) => block.der);
}
