import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const MAX_LINES = 100;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

function functionName(node: ts.SignatureDeclaration): string {
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) &&
    parent.name !== undefined
  ) {
    return parent.name.getText();
  }
  return "<anonymous>";
}

/** Every function in the source text longer than MAX_LINES, as `path:line name (n lines)`. */
function longFunctions(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = last - first + 1;
      if (lines > MAX_LINES) {
        const name = functionName(node);
        found.push(`${path}:${first + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("code shape", () => {
  const all = sourceFiles(join(root, "src")).flatMap((file) =>
    longFunctions(relative(root, file), readFileSync(file, "utf8")),
  );

  it(`has no function in src/ over ${MAX_LINES} lines`, () => {
    expect(all).toEqual([]);
  });

  it("reports a function of 101 lines by file, line and name, and not one of 100", () => {
    const fn = (name: string, lines: number) => [
      `const ${name} = () => {`,
      ...Array.from({ length: lines - 2 }, () => "  work();"),
      "};",
    ];
    const text = ["// two functions", ...fn("fits", 100), ...fn("tooLong", 101)].join("\n");
    expect(longFunctions("src/x.ts", text)).toEqual(["src/x.ts:102 tooLong (101 lines)"]);
  });
});
