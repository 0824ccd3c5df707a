import type { BottlePlan } from "../plan/bottle-plan.ts";

/**
 * A way to run bottles. `prepare` is pure (what `--dry-run` shows is exactly what launch does);
 * `launch` makes the resources; `provision` configures the running agent in a fixed order, each
 * step able to rely on the ones before it: the CA first so every later TLS call trusts the proxy,
 * git before cred-proxy so cred-proxy can append to ~/.gitconfig.
 */
export abstract class BottleBackend<Prepared, Launched> {
  abstract prepare(plan: BottlePlan, options: PrepareOptions): Prepared;
  abstract launch(prepared: Prepared, options: LaunchControl): Promise<Launched>;

  async provision(prepared: Prepared, launched: Launched): Promise<void> {
    await this.provisionCa(prepared, launched);
    await this.provisionPrompt(prepared, launched);
    await this.provisionSkills(prepared, launched);
    await this.provisionGit(prepared, launched);
    await this.provisionCredProxy(prepared, launched);
    await this.provisionSupervise(prepared, launched);
  }

  /** A backend without TLS interception has no CA to install. */
  protected async provisionCa(_prepared: Prepared, _launched: Launched): Promise<void> {}
  protected abstract provisionPrompt(prepared: Prepared, launched: Launched): Promise<void>;
  protected abstract provisionSkills(prepared: Prepared, launched: Launched): Promise<void>;
  // A bottle without git remotes, routes or supervise has nothing to provision for them; a
  // backend that can start those sidecars overrides these.
  protected async provisionGit(_prepared: Prepared, _launched: Launched): Promise<void> {}
  protected async provisionCredProxy(_prepared: Prepared, _launched: Launched): Promise<void> {}
  protected async provisionSupervise(_prepared: Prepared, _launched: Launched): Promise<void> {}
}

export interface PrepareOptions {
  instance: string;
  /** Answers to the manifest's `?prompt` env entries, asked before prepare. */
  answers: Readonly<Record<string, string>>;
  owner: { pid: number; mode: "attached" | "detached" };
}

export interface LaunchControl {
  log: (line: string) => void;
  signal?: AbortSignal;
}
