/** Keeps only a short prefix and the length, so logs and 403 reasons never carry the secret. */
export function maskSecret(secret: string): string {
  const flat = secret.replace(/\s+/g, " ");
  const shown = flat.length >= 16 ? 4 : flat.length >= 8 ? 2 : 0;
  return `${flat.slice(0, shown)}…[${secret.length} chars]`;
}
