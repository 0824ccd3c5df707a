import * as https from "node:https";

/**
 * Bench upstream, run as its own process: `node upstream.ts CERT KEY` (PEM in env vars to keep
 * argv short). Small GET answers 16 bytes; POST drains the body; /bytes/N streams N bytes.
 */
const cert = process.env.BENCH_CERT ?? "";
const key = process.env.BENCH_KEY ?? "";
const chunk = Buffer.alloc(1 << 20, 0x61);

const server = https.createServer({ cert, key, keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.url?.startsWith("/bytes/")) {
    let left = Number(req.url.slice("/bytes/".length));
    res.writeHead(200, { "Content-Length": String(left), "Content-Type": "application/octet-stream" });
    const pump = () => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": "16" });
    res.end("ok ok ok ok ok\n\n");
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.on("SIGTERM", () => process.exit(0));
