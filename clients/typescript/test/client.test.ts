// Runs against a real `outcomes serve` started here (OUTCOMES_PYTHON, PYTHONPATH from the
// environment the Python test suite passes in).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { OutcomesClient, OutcomesError, type Event } from "../src/index.js";

const TOKEN = "typescript-client-token-0123456789";
let server: ChildProcess;
let client: OutcomesClient;
let baseUrl: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "outcomes-ts-"));
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, TOKEN);
  chmodSync(tokenFile, 0o600);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const python = process.env.OUTCOMES_PYTHON ?? "python3";
  server = spawn(
    python,
    ["-m", "outcomes.cli", "serve", "--port", String(port), "--token-file", tokenFile,
     "--db", `sqlite:///${join(dir, "outcomes.db")}`],
    { stdio: "ignore", env: process.env },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("outcomes serve did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  client = new OutcomesClient({ baseUrl, token: TOKEN });
});

after(() => {
  server.kill("SIGTERM");
});

test("events are stored and show up in the leaderboard", async () => {
  const events: Event[] = [0, 1, 2].map((i) => ({
    event: "complete",
    trace_id: `ts-${i}`,
    model_id: "gpt-4o",
    task: "code",
    latency_ms: 100 + i,
    output_tokens: 5,
  }));
  const report = await client.events(events);
  assert.equal(report.accepted, 3);
  assert.equal(report.rejected, 0);
  const { models } = await client.models({ task: "code" });
  const gpt = models.find((m) => m.model_id === "gpt-4o");
  assert.equal(gpt?.calls, 3);
  const one = await client.model("gpt-4o");
  assert.deepEqual(one.tasks.map((t) => t.task), ["code"]);
});

test("bad items are rejected one by one with their field", async () => {
  const report = await client.events([
    { event: "complete", trace_id: "ts-bad", model_id: "m", task: "code", latency_ms: -1 },
  ]);
  assert.equal(report.rejected, 1);
  assert.equal(report.problems[0].where, "latency_ms");
});

test("a routing decision, its outcome and feedback", async () => {
  const decision = await client.route({ task: "code", candidates: ["gpt-4o", "gpt-4o-mini"] });
  assert.ok(decision.model_id === "gpt-4o" || decision.model_id === "gpt-4o-mini");
  assert.ok(decision.propensity > 0 && decision.propensity <= 1);
  assert.equal(decision.candidates.length, 2);
  assert.ok(decision.trace_id);
  const done = await client.events([
    { event: "complete", trace_id: decision.trace_id!, latency_ms: 50, output_tokens: 2 },
  ]);
  assert.equal(done.accepted, 1);
  const fb = await client.feedback([{ trace_id: decision.trace_id!, thumbs: false, tags: ["ts"] }]);
  assert.equal(fb.accepted, 1);
  const tagged = await client.models({ tag: "ts" });
  assert.equal(tagged.models.length, 1);
  assert.equal(tagged.models[0].failures, 1);
});

test("errors carry the service's envelope", async () => {
  await assert.rejects(client.route({ task: "code", max_cost_usd: -1 }), (err: unknown) => {
    assert.ok(err instanceof OutcomesError);
    assert.equal(err.status, 422);
    assert.equal(err.code, "invalid_body");
    assert.equal(err.where, "max_cost_usd");
    return true;
  });
  const anonymous = new OutcomesClient({ baseUrl });
  await assert.rejects(anonymous.models(), (err: unknown) => {
    assert.ok(err instanceof OutcomesError);
    assert.equal(err.code, "unauthorized");
    return true;
  });
});
