#!/usr/bin/env node
// A scripted MCP session with the TypeScript SDK's Streamable HTTP client,
// for ctxguard's tests (cmd/ctxguard/proxy_everything_test.go): it connects
// to the URL it is given, lists and reads what the reference server
// "everything" offers, calls its tools and gets a prompt, and prints one
// JSON object on stdout: each step's name and result, in order. The test
// runs it against the server directly and through `ctxguard proxy` and
// compares the two.
//
//   node mcp-client.mjs URL [POISON_TEXT]
//
// Connecting is retried for up to 20 seconds, so the caller need not wait
// for the servers to listen. Steps whose results change from one call to
// the next (timestamps) are reduced to what stays the same.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, poison] = process.argv.slice(2);
if (!url) {
  console.error("usage: node mcp-client.mjs URL [POISON_TEXT]");
  process.exit(2);
}

async function connect() {
  const deadline = Date.now() + 20000;
  for (;;) {
    const client = new Client({ name: "ts-sdk-client", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      return client;
    } catch (err) {
      await client.close().catch(() => {});
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const client = await connect();
const steps = [];
const step = async (name, fn) => {
  try {
    steps.push({ name, result: await fn() });
  } catch (err) {
    steps.push({ name, error: String(err && err.message ? err.message : err) });
  }
};

steps.push({ name: "server", result: { version: client.getServerVersion(), protocolVersion: client.transport?.protocolVersion ?? null } });
await step("tools/list", () => client.listTools());
await step("resources/list", () => client.listResources());
await step("resources/templates/list", () => client.listResourceTemplates());
await step("prompts/list", () => client.listPrompts());
for (const doc of ["architecture.md", "structure.md"]) {
  await step(`resources/read ${doc}`, () => client.readResource({ uri: `demo://resource/static/document/${doc}` }));
}
// A dynamic resource carries the time it was made: keep its shape.
await step("resources/read dynamic blob", async () => {
  const r = await client.readResource({ uri: "demo://resource/dynamic/blob/1" });
  return r.contents.map((c) => ({ uri: c.uri, mimeType: c.mimeType, blob: typeof c.blob }));
});
await step("tools/call echo", () => client.callTool({ name: "echo", arguments: { message: "hello through the filter" } }));
await step("tools/call get-sum", () => client.callTool({ name: "get-sum", arguments: { a: 2, b: 40 } }));
await step("tools/call get-tiny-image", () => client.callTool({ name: "get-tiny-image", arguments: {} }));
await step("tools/call get-structured-content", () => client.callTool({ name: "get-structured-content", arguments: { location: "Chicago" } }));
await step("tools/call get-annotated-message", () => client.callTool({ name: "get-annotated-message", arguments: { messageType: "success", includeImage: false } }));
await step("prompts/get simple-prompt", () => client.getPrompt({ name: "simple-prompt" }));
await step("prompts/get args-prompt", () => client.getPrompt({ name: "args-prompt", arguments: { city: "Lisbon", state: "none" } }));
if (poison) {
  await step("tools/call echo poison", () => client.callTool({ name: "echo", arguments: { message: poison } }));
}
await client.close();
process.stdout.write(JSON.stringify({ steps }) + "\n");
