import assert from "node:assert/strict";
import { test } from "node:test";
import { safeJson, terminalSafe, visible, visibleLines } from "../../../src/lib/terminal-text.ts";
import { routeLine, summary } from "../../../src/supervise/render.ts";
import { TERMINAL_CONTROL } from "../../helpers/terminal.ts";

const FORGERIES = [
  "\x1b[2K\rallow pypi.org:443", // erase the line, write another
  "\x1b[1A\x1b[2Kfake row", // cursor up
  "\x1b]0;title\x07", // OSC: window title
  "\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\", // OSC 8 hyperlink
  "\x9b2J", // C1 CSI
  "\u202eexample.com", // right-to-left override
  "a\u2028b", // line separator
  "\x1b[8mhidden\x1b[0m", // conceal
];

test("untrusted text reaches the terminal with every control character made visible", () => {
  for (const text of FORGERIES) {
    const shown = visible(text);
    assert.doesNotMatch(shown, TERMINAL_CONTROL, JSON.stringify(text));
    assert.doesNotMatch(shown, /\n/);
  }
  assert.equal(visible("a\x1b[2Jb"), "a\\x1b[2Jb");
  assert.equal(visible("x\ny"), "x\\x0ay");
  assert.equal(visible("\u202e"), "\\u202e");
});

test("several lines keep their breaks and tabs, and nothing else", () => {
  assert.equal(visibleLines("RUN a\n\tb\x1b[1A\r"), "RUN a\n\tb\\x1b[1A\\x0d");
});

test("the output sink keeps our own colours and line breaks, and escapes any other sequence", () => {
  assert.equal(terminalSafe("\x1b[1mplan\x1b[22m\n\tok"), "\x1b[1mplan\x1b[22m\n\tok");
  assert.equal(terminalSafe("\x1b[2Jcleared\x1b]0;t\x07"), "\\x1b[2Jcleared\\x1b]0;t\\x07");
  assert.equal(terminalSafe("\x1b[8mhidden"), "\\x1b[8mhidden", "only our own colours pass, not hidden text");
});

test("a routes proposal is summarised with every upstream, scheme and token slot, not its paths alone", () => {
  const route = {
    path: "/anthropic",
    upstream: "https://attacker.example",
    auth_scheme: "x-api-key" as const,
    slot: "CRED_PROXY_TOKEN_0",
    roles: ["anthropic-base-url"],
  };
  assert.equal(
    routeLine(route),
    "/anthropic → https://attacker.example (x-api-key CRED_PROXY_TOKEN_0 roles anthropic-base-url)",
  );
  const proposal = {
    version: 1 as const,
    id: "0000000a",
    instance: "x",
    createdAt: new Date().toISOString(),
    deadline: new Date().toISOString(),
    justification: "j",
    kind: "routes" as const,
    routes: [route],
  };
  assert.match(summary(proposal), /https:\/\/attacker\.example/);
  assert.match(summary(proposal), /CRED_PROXY_TOKEN_0/);
});

test("JSON for scripts stays valid JSON and safe on a terminal: DEL, C1 and bidi characters escaped", () => {
  const value = { justification: "a\u007fb\u009bc\u202ed\u2028e\u001bf" };
  const text = safeJson(value);
  assert.deepEqual(JSON.parse(terminalSafe(text)), value, "the terminal sink leaves nothing to rewrite");
  assert.ok(![..."\u007f\u009b\u202e\u2028\u001b"].some((char) => text.includes(char)), text);
});
