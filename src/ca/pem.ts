/** PEM armour: 64-column base64 lines, LF, trailing LF (what nRF Cloud's CSV regex expects). */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  let body = "";
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** The DER of every PEM block with one of `labels`, in order of appearance. */
export function fromPemAll(text: string, labels: readonly string[]): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const match of text.matchAll(pattern)) {
    if (labels.includes(match[1]!)) {
      blocks.push(new Uint8Array(Buffer.from(match[2]!.replace(/\s+/g, ""), "base64")));
    }
  }
  return blocks;
}
