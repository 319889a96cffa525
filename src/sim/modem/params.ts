/** One parameter of an AT command: a number, a quoted string, or left empty (`AT%JWT=0,,"s"`). */
export type AtParam =
  | { kind: "int"; value: number }
  | { kind: "string"; value: string }
  | { kind: "empty" };

/**
 * Splits `a,"b,c",,3` on commas outside quotes. Returns null for anything the modem's parser
 * would reject: unbalanced quotes, text after a closing quote, unquoted non-numbers.
 */
export function parseParams(text: string): AtParam[] | null {
  const params: AtParam[] = [];
  let rest = text;
  for (;;) {
    if (rest.startsWith('"')) {
      const close = rest.indexOf('"', 1);
      if (close < 0) return null;
      params.push({ kind: "string", value: rest.slice(1, close) });
      rest = rest.slice(close + 1);
    } else {
      const comma = rest.indexOf(",");
      const raw = (comma < 0 ? rest : rest.slice(0, comma)).trim();
      if (raw === "") params.push({ kind: "empty" });
      else if (/^\d+$/.test(raw) && Number.isSafeInteger(Number(raw)))
        params.push({ kind: "int", value: Number(raw) });
      else return null;
      rest = comma < 0 ? "" : rest.slice(comma);
    }
    if (rest === "") return params;
    if (!rest.startsWith(",")) return null;
    rest = rest.slice(1);
  }
}

export function intParam(param: AtParam | undefined): number | undefined {
  return param?.kind === "int" ? param.value : undefined;
}

export function stringParam(param: AtParam | undefined): string | undefined {
  return param?.kind === "string" ? param.value : undefined;
}
