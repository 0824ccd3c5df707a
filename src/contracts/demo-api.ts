/**
 * The demo-api sidecar's contract with the host (`claude-bottle demo`, src/cli/demo/run-demo.ts):
 * the config file the host writes for the scripted stand-in of the Anthropic API, and the record
 * it keeps of each request.
 */

/** One step of the demo's script: a Bash tool call, or a text answer. */
export type ScriptStep = { bash: string; note?: string } | { text: string };

export interface RecordedRequest {
  path: string;
  /** SHA-256 of the credential the request carried (x-api-key, else the bearer token). */
  credentialSha256: string | undefined;
  hadTools: boolean;
  /** Text of the tool results the request carried back (the output of the previous Bash step). */
  toolResults: string[];
}

/** What `claude-bottle demo` hands the `demo-api` container. */
export interface DemoApiConfig {
  script: ScriptStep[];
  /** Certificates by host name (api.anthropic.com, and the demo's allowed host). */
  certificates: { host: string; cert: string; key: string }[];
  port: number;
  /** JSON lines of RecordedRequest, on a host dir mounted in. */
  recordFile: string;
}
