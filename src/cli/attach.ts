import { setTimeout as sleep } from "node:timers/promises";
import { AGENT_USER, AGENT_WORKDIR } from "../backend/docker/agent-env.ts";
import type { DockerEngine } from "../backend/docker/engine/engine.ts";
import { AGENT_PROMPT_FILE } from "../backend/docker/provision/prompt.ts";
import { resourceName } from "../backend/instance.ts";
import type { InstanceStore } from "../backend/state.ts";

/**
 * Claude Code in the agent, as the terminal's session: a new conversation (with the agent's
 * prompt when it has one), or the last one continued (`resume`, and after a replacement).
 */
export function sessionCommand(session: { prompt: boolean } | "continue"): string[] {
  if (session === "continue") return ["claude", "--dangerously-skip-permissions", "--continue"];
  const prompt = session.prompt ? ` "$(cat ${AGENT_PROMPT_FILE})"` : "";
  return ["sh", "-c", `exec claude --dangerously-skip-permissions${prompt}`];
}

export interface AttachOptions {
  engine: Pick<DockerEngine, "containerExec" | "containerInspect">;
  store: Pick<InstanceStore, "isReplacing">;
  instance: string;
  /** The first session's command (`sessionCommand`). */
  command: readonly string[];
  /** After a replacement, the command that continues the session; default `sessionCommand("continue")`. */
  continueCommand?: readonly string[];
  log: (line: string) => void;
  /** Ends a wait for a replacement (the CLI's SIGINT/SIGTERM): the session is then over. */
  signal?: AbortSignal;
  /** How often to look whether a replacement finished; default 250 ms. */
  pollMs?: number;
}

/**
 * Gives the terminal to a session in the agent container until it ends; resolves to its exit
 * code. A capability approval replaces the agent container (replace-agent.ts), which ends the
 * exec: the session then continues in the new container, with the transcript that was carried
 * over, instead of the bottle coming down. The wait is bounded by the replacement mark's own
 * age limit (state.ts) and ends on the signal.
 */
export async function attachSession(options: AttachOptions): Promise<number> {
  const { engine, instance } = options;
  const agent = resourceName(instance, "agent");
  let command = options.command;
  let exitCode = 0;
  for (;;) {
    if (!(await whileReplacing(options))) return exitCode;
    const attachedTo = await engine.containerInspect(agent);
    if (attachedTo?.running !== true) return exitCode;
    exitCode = await execWhileThere(options, agent, attachedTo.id, command);
    if (!(await whileReplacing(options))) return exitCode;
    const now = await engine.containerInspect(agent);
    if (now?.running !== true || now.id === attachedTo.id) return exitCode;
    options.log("the agent container was replaced (an approved capability); continuing the session in it");
    command = options.continueCommand ?? sessionCommand("continue");
  }
}

/**
 * The session's exec, ended by us when its container is gone: on gVisor (Docker 20.10) an exec
 * into a container that was removed may never return, and the session must move on to the new one.
 */
async function execWhileThere(
  options: AttachOptions,
  agent: string,
  containerId: string,
  command: readonly string[],
): Promise<number> {
  const gone = new AbortController();
  const finished = new AbortController();
  const watching = (async () => {
    while (!finished.signal.aborted) {
      await sleep(WATCH_MS, undefined, { signal: finished.signal }).catch(() => {});
      if (finished.signal.aborted) return;
      const current = await options.engine.containerInspect(agent).catch(() => undefined);
      if (current?.id !== containerId && !options.store.isReplacing(options.instance)) {
        gone.abort(new Error("the session's container is gone"));
        return;
      }
    }
  })();
  try {
    const result = await options.engine.containerExec(agent, command, {
      user: AGENT_USER,
      workdir: AGENT_WORKDIR,
      stdio: "inherit",
      signal: gone.signal,
    });
    return result.exitCode;
  } catch (error) {
    if (gone.signal.aborted) return 0;
    throw error;
  } finally {
    finished.abort();
    await watching;
  }
}

/** How often an attached session looks whether its container is still there. */
const WATCH_MS = 1000;

/** Waits while the agent container is being replaced; false when the signal ended the wait. */
async function whileReplacing(options: AttachOptions): Promise<boolean> {
  let said = false;
  while (options.store.isReplacing(options.instance)) {
    if (options.signal?.aborted) return false;
    if (!said) {
      options.log("the agent container is being replaced (an approved capability); waiting for the new one");
      said = true;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
  return options.signal?.aborted !== true;
}
