/**
 * Small Node programs the attacks run inside the agent (`node -e PROBE ARGS...`): each prints
 * one JSON line saying precisely what happened, so a test asserts the refusal, not "an error".
 */

/** `tcp HOST PORT TIMEOUT_MS` → {"result":"connected"|"timeout"|<errno code>} */
export const TCP_PROBE = `
const [host, port, timeout] = process.argv.slice(1);
const socket = require("node:net").connect({ host, port: Number(port) });
const done = (result) => { console.log(JSON.stringify({ result })); socket.destroy(); process.exit(0); };
socket.setTimeout(Number(timeout), () => done("timeout"));
socket.on("connect", () => done("connected"));
socket.on("error", (error) => done(error.code));
`;

/**
 * UDP: sends a DNS query for example.com (connected socket) twice, waits for any reply.
 * `HOST PORT WAIT_MS` → {"result":"reply"|"no-reply"|<errno code>}
 */
export const UDP_PROBE = `
const [host, port, wait] = process.argv.slice(1);
const socket = require("node:dgram").createSocket(host.includes(":") ? "udp6" : "udp4");
const query = Buffer.from("abcd01000001000000000000076578616d706c6503636f6d0000010001", "hex");
const done = (result) => { console.log(JSON.stringify({ result })); process.exit(0); };
socket.on("message", () => done("reply"));
socket.on("error", (error) => done(error.code));
socket.connect(Number(port), host, () => {
  const send = () => socket.send(query, (error) => error && done(error.code));
  send();
  setTimeout(send, Number(wait) / 2);
});
setTimeout(() => done("no-reply"), Number(wait));
`;

/**
 * Sends \`CONNECT TARGET\` to the egress proxy and prints its whole answer (curl hides the body
 * of a refused CONNECT). \`TARGET\` → {"response": "..."}
 */
export const CONNECT_PROBE = `
const [target] = process.argv.slice(1);
const socket = require("node:net").connect({ host: "egress-proxy", port: 8888 });
let response = "";
const done = () => { console.log(JSON.stringify({ response })); socket.destroy(); process.exit(0); };
socket.on("connect", () => socket.write("CONNECT " + target + " HTTP/1.1\\r\\nHost: " + target + "\\r\\n\\r\\n"));
socket.on("data", (chunk) => { response += chunk.toString("latin1"); if (/^HTTP\\/1\\.1 200/.test(response)) done(); });
socket.on("end", done);
socket.on("error", done);
setTimeout(done, 5000);
`;

/**
 * CONNECT TARGET, then a TLS handshake naming SERVERNAME (trusting the bottle CA through
 * NODE_EXTRA_CA_CERTS). \`TARGET SERVERNAME\` → {"connect": status line, "tls": "ok"|<error>}
 */
export const SNI_PROBE = `
const [target, servername] = process.argv.slice(1);
const socket = require("node:net").connect({ host: "egress-proxy", port: 8888 });
const done = (connect, tls) => { console.log(JSON.stringify({ connect, tls })); process.exit(0); };
socket.on("connect", () => socket.write("CONNECT " + target + " HTTP/1.1\\r\\nHost: " + target + "\\r\\n\\r\\n"));
socket.once("data", (chunk) => {
  const status = chunk.toString("latin1").split("\\r\\n")[0];
  const secure = require("node:tls").connect({ socket, servername });
  secure.on("secureConnect", () => done(status, "ok"));
  secure.on("error", (error) => done(status, error.code || error.message));
});
socket.on("error", (error) => done(error.code, ""));
setTimeout(() => done("timeout", "timeout"), 8000);
`;

/** \`NAME\` through the container's resolver, one try → {"result": [addresses] | <error code>} */
export const DNS_PROBE = `
const [name] = process.argv.slice(1);
const resolver = new (require("node:dns").promises.Resolver)({ timeout: 1500, tries: 1 });
resolver.resolve4(name).then(
  (addresses) => console.log(JSON.stringify({ result: addresses })),
  (error) => console.log(JSON.stringify({ result: error.code })),
);
`;

/**
 * A WebSocket client by hand, as a hostile agent would write one: CONNECT TARGET, TLS (trusting the
 * bottle CA), the handshake, then one masked text frame holding MESSAGE, split into two fragments.
 * \`TARGET HOST MESSAGE\` → {"status": handshake status line, "close": close code or null, "echo": text}
 */
export const WEBSOCKET_PROBE = `
const [target, host, message] = process.argv.slice(1);
const socket = require("node:net").connect({ host: "egress-proxy", port: 8888 });
let result = { status: "", close: null, echo: "" };
const done = () => { console.log(JSON.stringify(result)); process.exit(0); };
const frame = (opcode, fin, text) => {
  const data = Buffer.from(text);
  const mask = require("node:crypto").randomBytes(4);
  const head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length]);
  return Buffer.concat([head, mask, data.map((b, i) => b ^ mask[i & 3])]);
};
socket.on("connect", () => socket.write("CONNECT " + target + " HTTP/1.1\\r\\nHost: " + target + "\\r\\n\\r\\n"));
socket.once("data", () => {
  const secure = require("node:tls").connect({ socket, servername: host });
  secure.on("secureConnect", () => secure.write("GET /ws HTTP/1.1\\r\\nHost: " + target + "\\r\\nConnection: Upgrade\\r\\nUpgrade: websocket\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\\r\\n"));
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  secure.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf("\\r\\n\\r\\n");
      if (end < 0) return;
      result.status = buffer.subarray(0, end).toString("latin1").split("\\r\\n")[0];
      buffer = buffer.subarray(end + 4);
      upgraded = true;
      const half = Math.floor(message.length / 2);
      secure.write(Buffer.concat([frame(1, false, message.slice(0, half)), frame(0, true, message.slice(half))]));
    }
    while (buffer.length >= 2) {
      const length = buffer[1] & 0x7f;
      if (buffer.length < 2 + length) return;
      const opcode = buffer[0] & 0x0f;
      const payload = buffer.subarray(2, 2 + length);
      buffer = buffer.subarray(2 + length);
      if (opcode === 8) { result.close = payload.readUInt16BE(0); return done(); }
      result.echo += payload.toString();
      return done();
    }
  });
  secure.on("error", done);
  secure.on("close", done);
});
socket.on("error", done);
setTimeout(done, 10000);
`;
