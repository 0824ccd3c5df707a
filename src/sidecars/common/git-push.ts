/**
 * Git's smart-HTTP push is two requests: `GET .../info/refs?service=git-receive-pack` (ref
 * advertisement) and `POST .../git-receive-pack` (the pack). Refusing both stops a push at its
 * first step; fetch (`git-upload-pack`) is untouched. Pushes go only through git-gate (G4), which
 * scans them. Pure.
 */
export function isGitPush(rawUrl: string): boolean {
  const query = rawUrl.indexOf("?");
  const rawPath = query === -1 ? rawUrl : rawUrl.slice(0, query);
  let path: string;
  try {
    // Decoded, so `%2Fgit-receive-pack` or `git%2Dreceive-pack` is no way around it.
    path = decodeURIComponent(rawPath).toLowerCase().replace(/\/+$/, "");
  } catch {
    return true; // undecodable: the caller refuses it anyway; never let it pass as a fetch
  }
  if (path.endsWith("/git-receive-pack") || path === "git-receive-pack") return true;
  if (!path.endsWith("/info/refs")) return false;
  const params = new URLSearchParams(query === -1 ? "" : rawUrl.slice(query + 1));
  return params.getAll("service").some((service) => service.toLowerCase().includes("receive-pack"));
}

/**
 * The repository a push names, `owner/repo` without `.git`, from the path after the route
 * prefix: `/acme/app.git/git-receive-pack` → `acme/app`.
 */
export function pushedRepository(pathAfterPrefix: string): string {
  const path = pathAfterPrefix.split("?")[0] ?? "";
  return path
    .replace(/\/(?:info\/refs|git-receive-pack)\/*$/i, "")
    .replace(/^\/+|\/+$/g, "")
    .replace(/\.git$/, "");
}
