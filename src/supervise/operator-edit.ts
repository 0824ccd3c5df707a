import { join } from "node:path";
import { parseAllowlist, readCurrentConfig, renderAllowlist } from "../contracts/supervise-current-config.ts";
import { validateAllowlist, validateRoutes } from "../contracts/supervise-validate.ts";
import { superviseDirs } from "../lib/home-layout.ts";
import { errorMessage, UserError } from "../lib/user-error.ts";
import { type Applied, applyChange, replaceAllowlist } from "./apply.ts";
import { appendAudit, auditEntry } from "./audit.ts";
import type { SuperviseHost } from "./decide.ts";

import { withLock } from "./lock.ts";

/** What an operator may edit of a running bottle without a proposal. */
export type EditTarget = "allowlist" | "routes";

/** The text the operator edits in $EDITOR: the allowlist (one entry a line) or the route list. */
export function editableText(what: EditTarget, currentConfigDir: string): string {
  const current = readCurrentConfig(currentConfigDir);
  if (what === "allowlist")
    return `${renderAllowlist(current.allowlist)}# one entry a line; save and quit to apply, leave unchanged to cancel\n`;
  return `${JSON.stringify(current.routes?.routes ?? [], null, 2)}\n`;
}

/**
 * Applies the operator's own edit of a running bottle's allowlist or routes, live, the same way an
 * approval does, and audits it (`operator-edit`). Resolves to undefined when the text did not
 * change the policy; an invalid text is refused with every problem.
 */
export async function operatorEdit(
  host: SuperviseHost,
  instance: string,
  what: EditTarget,
  text: string,
): Promise<Applied | undefined> {
  const dirs = superviseDirs(host.home, instance);
  const current = readCurrentConfig(dirs.currentConfig);
  const target = { engine: host.engine, instance, currentConfigDir: dirs.currentConfig, owner: host.owner };
  let apply: () => Promise<Applied>;
  if (what === "allowlist") {
    const entries = parseAllowlist(text);
    if (JSON.stringify(entries) === JSON.stringify(current.allowlist)) return undefined;
    const checked = validateAllowlist(entries);
    if (!checked.ok) throw new UserError(`the allowlist was not changed: ${checked.problems.join("; ")}`);
    apply = () => replaceAllowlist(target, checked.value);
  } else {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UserError("the routes were not changed: not valid JSON");
    }
    if (current.routes === undefined) throw new UserError("this bottle has no cred-proxy routes to edit");
    const checked = validateRoutes(json, current.routes.routes);
    if (!checked.ok) {
      if (checked.problems.some((problem) => problem.includes("identical"))) return undefined;
      throw new UserError(`the routes were not changed: ${checked.problems.join("; ")}`);
    }
    apply = () => applyChange(target, { kind: "routes", routes: checked.value });
  }
  const applied = await withLock(join(dirs.queue, "apply.lock"), apply).catch((error: unknown) => {
    throw new UserError(`the ${what} of ${instance} was not changed: ${errorMessage(error)}`, {
      code: "E_APPLY",
      exitCode: 1,
      cause: error,
    });
  });
  appendAudit(
    dirs.auditFile,
    auditEntry(
      {
        instance,
        kind: what === "allowlist" ? "egress" : "routes",
        decision: "operator-edit",
        operator: host.operator,
        before: applied.before,
        after: applied.after,
      },
      (host.now ?? (() => new Date()))(),
    ),
  );
  return applied;
}
