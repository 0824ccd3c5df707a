/**
 * A capability approval (supervise): the agent image is rebuilt from the approved Dockerfile and
 * the bottle's agent container is replaced by one on the new image, for the same instance, with
 * the same sidecars, networks and CA, and with the agent's home state (transcripts in ~/.claude,
 * ~/.claude.json, ~/workspace) carried over, so the conversation continues: an attached session
 * moves to the new container by itself (src/cli/attach.ts), a detached bottle with `resume`.
 */
import { X509Certificate } from "node:crypto";
import { EGRESS } from "../../../contracts/egress-proxy.ts";
import { formatBytes } from "../../../lib/bytes.ts";
import { homeLayout } from "../../../lib/home-layout.ts";
import { errorMessage } from "../../../lib/user-error.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import { replacedAgentName, resourceName } from "../../instance.ts";
import type { InstanceRecord } from "../../state.ts";
import { InstanceStore } from "../../state.ts";
import { AGENT_HOME, AGENT_USER } from "../agent-env.ts";
import { buildCapability, LABEL_LAUNCH_IMAGE } from "../capability-build.ts";
import type { DockerEngine } from "../engine/engine.ts";
import { CopyTooLargeError, EngineError } from "../engine/error.ts";
import { firstTarFile } from "../engine/tar.ts";
import { capabilityImageTag, DEFAULT_TAGS } from "../images.ts";
import { startAgentContainer } from "../launch.ts";
import { LABEL_MODE, LABEL_OWNER_PID } from "../prepare.ts";
import { prepareInstance } from "./prepare-instance.ts";
import { provisionAgent } from "./provision-agent.ts";

/** What survives the replacement, relative to the agent's home (uid 1000). */
const KEPT_HOME_STATE = [".claude", ".claude.json", "workspace"] as const;

export interface ReplaceAgentInput {
  engine: DockerEngine;
  /** The claude-bottle home (state records, logs, staged image contexts). */
  home: string;
  instance: string;
  /** The approved agent Dockerfile. */
  dockerfile: string;
  /** The bottle's plan built again from its state record (manifests and host env). */
  plan: (record: InstanceRecord) => BottlePlan;
  log?: (line: string) => void;
  /** Aborts the build (the operator pressed Ctrl-C); nothing has changed then. */
  signal?: AbortSignal | undefined;
}

export interface ReplacedAgent {
  image: string;
  imageId: string;
  /** Home entries copied over (of KEPT_HOME_STATE, those that existed). */
  kept: string[];
}

/** A replacement that failed; `changed` is true when the bottle was left without its agent. */
export class ReplaceAgentError extends Error {
  readonly changed: boolean;
  constructor(message: string, changed: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReplaceAgentError";
    this.changed = changed;
  }
}

/**
 * Builds the new image (nothing changed when that fails), saves the agent's home state and the
 * bottle's CA certificate, removes the old agent container, starts the new one like launch does
 * (CA trusted before anything runs), provisions it like launch does (prompt, skills, git,
 * cred-proxy, supervise), then streams the home state over from the old container, stopped and
 * kept aside until then.
 */
export async function replaceAgent(input: ReplaceAgentInput): Promise<ReplacedAgent> {
  const { engine, instance } = input;
  const log = input.log ?? (() => {});
  const store = new InstanceStore(input.home);
  const record = store.load(instance);
  if (record === undefined)
    throw new ReplaceAgentError(`bottle ${instance} has no state record; it cannot be re-planned`, false);
  const agentName = resourceName(instance, "agent");
  const old = await engine.containerInspect(agentName);
  if (old?.running !== true) throw new ReplaceAgentError(`the agent of ${instance} is not running`, false);
  let plan: BottlePlan;
  try {
    plan = input.plan(record);
  } catch (error) {
    throw new ReplaceAgentError(
      `the bottle could not be planned again (agent ${record.agent} from ${record.cwd}): ${errorMessage(error)}`,
      false,
      { cause: error },
    );
  }

  const homeBytes = await keptHomeBytes(engine, agentName);
  // Refused before anything is built; the copy counts again (the agent may write meanwhile).
  // The bottle's limits.build.home, by apparent size: a sparse file costs the agent nothing but
  // counts here in full.
  const maxHome = plan.limits.build.homeBytes;
  if (homeBytes > maxHome) throw tooMuchHome(formatBytes(homeBytes), maxHome);

  const previousImage = old.imageId ?? old.image;
  const certTar = await engine.containerCopyOut(resourceName(instance, "egress-proxy"), EGRESS.caCert);
  const certPem = firstTarFile(certTar)?.content.toString("utf8");
  if (certPem === undefined) throw new ReplaceAgentError("the egress proxy holds no CA certificate", false);

  // The same container spec launch would make, with the same owner labels and the answers the
  // first launch got (`?prompt` env entries), read back from the old agent.
  const answers = Object.fromEntries(
    plan.env.flatMap((entry) => {
      const value = old.env?.[entry.name];
      return entry.kind === "prompt" && value !== undefined ? [[entry.name, value]] : [];
    }),
  );
  const pid = Number(old.labels[LABEL_OWNER_PID]);
  const image = capabilityImageTag(instance);
  const prepared = prepareInstance({
    plan,
    instance,
    images: { agent: image, sidecar: DEFAULT_TAGS.sidecar },
    answers,
    owner: {
      pid: Number.isInteger(pid) && pid > 0 ? pid : record.ownerPid,
      mode: old.labels[LABEL_MODE] === "attached" ? "attached" : "detached",
    },
    logRoot: homeLayout(input.home).logs,
    // The isolation the bottle was launched with: a capability never changes the runtime.
    runtime: old.runtime,
  });

  // Every capability builds on the image the bottle was launched with (what FROM names).
  const launchImage = (await engine.imageInspect(previousImage))?.labels[LABEL_LAUNCH_IMAGE] ?? previousImage;
  log(`building ${image} from the approved Dockerfile, confined to the bottle`);
  let imageId: string;
  try {
    imageId = await buildCapability({
      engine,
      instance,
      dockerfile: input.dockerfile,
      baseImageId: launchImage,
      agent: prepared.agent,
      caCertPem: certPem,
      tag: image,
      signal: input.signal,
      log,
      limits: {
        cpus: plan.limits.build.cpus,
        memoryBytes: plan.limits.build.memoryBytes,
        timeoutMs: plan.limits.build.minutes * 60_000,
      },
    });
  } catch (error) {
    throw new ReplaceAgentError(`building the new agent image failed: ${errorMessage(error)}`, false, {
      cause: error,
    });
  }

  /** Starts and provisions the agent on `ref` like launch does, then streams the kept home in. */
  const startReplacement = async (ref: string): Promise<string[]> => {
    // Nothing to undo on success: the new container belongs to the bottle, like the old one.
    const stack = new AsyncDisposableStack();
    await startAgentContainer(engine, stack, { ...prepared.agent, image: ref }, certPem);
    stack.move();
    // Provisioning shows the CA's fingerprint; the key stays in the egress proxy.
    await provisionAgent(engine, prepared, {
      agent: agentName,
      caFingerprint: new X509Certificate(certPem).fingerprint256,
      log,
    });
    const copied: string[] = [];
    let budget = maxHome;
    for (const name of KEPT_HOME_STATE) {
      try {
        budget -= await engine.containerCopyBetween(
          keptName,
          `${AGENT_HOME}/${name}`,
          agentName,
          AGENT_HOME,
          {
            maxBytes: budget,
          },
        );
        copied.push(name);
      } catch (error) {
        if (error instanceof CopyTooLargeError)
          throw tooMuchHome(`more than ${formatBytes(maxHome)}`, maxHome);
        if (!(error instanceof EngineError && error.isNotFound)) throw error;
      }
    }
    return copied;
  };

  log(`replacing the agent container of ${instance}`);
  // An attached session's exec ends with the old container; the mark tells its CLI to wait for
  // the new one and continue there rather than tear the bottle down.
  using _replacing = store.markReplacing(instance);
  // The old agent is stopped (its home can no longer change) and kept aside until the new one
  // holds its home: a failure puts it back as it was, so nothing is lost.
  const keptName = replacedAgentName(instance);
  if ((await engine.containerInspect(keptName)) !== undefined)
    throw new ReplaceAgentError(
      `${keptName} holds the agent of an earlier replacement that did not finish; start it again (docker rename ${keptName} ${agentName} && docker start ${agentName}) or remove it, then approve again`,
      false,
    );
  await engine.containerStop(agentName, { graceSeconds: 10 });
  await engine.containerRename(agentName, keptName);
  let kept: string[];
  try {
    kept = await startReplacement(image);
  } catch (error) {
    const restored = await putBack(engine, keptName, agentName).then(
      () => "; the previous agent was started again, home state and all",
      (cause: unknown) =>
        `; starting the previous agent again failed too (it is kept as ${keptName}): ${errorMessage(cause)}`,
    );
    if (imageId !== previousImage)
      await engine
        .imageRemove(imageId)
        .catch((cause: unknown) => log(`the unused image ${image} was not removed: ${errorMessage(cause)}`));
    const what =
      error instanceof ReplaceAgentError
        ? error.message
        : `the new agent container did not start: ${errorMessage(error)}`;
    throw new ReplaceAgentError(
      `${what}${restored}`,
      !restored.startsWith("; the previous agent was started again"),
      { cause: error },
    );
  }
  await engine.containerRemove(keptName);
  if (previousImage !== imageId && (await engine.imageInspect(previousImage))?.tags.length === 0) {
    // A previous capability's image, now untagged and unused.
    await engine.imageRemove(previousImage).catch(() => {});
  }
  return { image, imageId, kept };
}

/** The old agent back under its name, started: the state before the replacement began. */
async function putBack(engine: DockerEngine, keptName: string, agentName: string): Promise<void> {
  await engine.containerRemove(agentName);
  await engine.containerRename(keptName, agentName);
  await engine.containerStart(agentName);
}

/** `held`: "20 GiB" when measured, "more than 1 GiB" when a copy stopped at the cap. */
function tooMuchHome(held: string, maxBytes: number): ReplaceAgentError {
  return new ReplaceAgentError(
    `the agent's ${KEPT_HOME_STATE.map((name) => `~/${name}`).join(", ")} hold ${held} (apparent size: a sparse file counts in full); a capability carries at most ${formatBytes(maxBytes)} to the new agent (the bottle's limits.build.home). Remove what is not needed there (build outputs, caches), then approve again`,
    false,
  );
}

/** Apparent bytes of the kept home state, measured in the agent (`du --apparent-size`). */
async function keptHomeBytes(engine: DockerEngine, agent: string): Promise<number> {
  const result = await engine.containerExec(
    agent,
    ["du", "-s", "--apparent-size", "--block-size=1", "--", ...KEPT_HOME_STATE],
    { user: AGENT_USER, workdir: AGENT_HOME, timeoutMs: 60_000 },
  );
  // Missing entries make du exit 1 and say so on stderr; what it measured is on stdout.
  return result.stdout
    .split("\n")
    .map((line) => Number(line.split("\t")[0]))
    .filter((bytes) => Number.isFinite(bytes))
    .reduce((sum, bytes) => sum + bytes, 0);
}
