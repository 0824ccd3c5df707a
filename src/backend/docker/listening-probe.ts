/**
 * Whether something in the container listens on a TCP port (IPv4, any address): a grep of
 * /proc/net/tcp, where local ports are upper-case hex and state 0A is LISTEN. Cheap enough to
 * loop on right after start (`waitReady`) and to run as a healthcheck (liveness), unlike a `node -e`.
 */
export function listeningCheck(port: number): string {
  return `grep -q ':${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A' /proc/net/tcp`;
}
