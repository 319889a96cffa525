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

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** The DER of every PEM block with one of `labels`, in order of appearance. */
export function fromPemAll(text: string, labels: readonly string[]): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (labels.includes(match[1]!)) {
      const der = Buffer.from(match[2]!.replace(/\s+/g, ""), "base64");
      blocks.push(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
    }
  }
  return blocks;
}
