/**
 * A typed client of the outcomes HTTP service (`outcomes serve`, docs/server.md).
 *
 * Dependency-free: it uses the platform's `fetch` (Node >= 18, browsers, Deno, Bun).
 * Every error the service answers comes back as an {@link OutcomesError} carrying the
 * service's error envelope (status, code, message, where).
 */

/** A lifecycle event, as `outcomes ingest` reads it (docs/ingest.md). */
export type Event =
  | ({ event: "start"; model_id: string; task: string; propensity?: number } & CallFields)
  | ({
      event: "complete";
      latency_ms: number;
      input_tokens?: number;
      output_tokens?: number;
      cost_usd?: number;
    } & CallFields)
  | ({ event: "failure"; error: string; retry_after?: number; latency_ms?: number } & CallFields)
  | ({
      event: "signal";
      signal_id: string;
      kind: string;
      verdict: string;
      confidence?: number;
    } & EventFields)
  | ({ event: "feedback" } & FeedbackFields);

interface EventFields {
  trace_id: string;
  /** Unix seconds; default: when the service receives it. */
  timestamp?: number;
}

interface CallFields extends EventFields {
  model_id?: string;
  task?: string;
  routing_reason?: string;
  project_id?: string;
  intent?: string;
}

/** Open feedback on a call (`tracker.feedback`). */
export interface FeedbackFields extends EventFields {
  score?: number;
  score_range?: [number, number];
  label?: string;
  thumbs?: boolean;
  user_id?: string;
  session_id?: string;
  tags?: string[];
  metadata?: Record<string, string | number | boolean | null>;
  signal_id?: string;
}

/** What a write did, per item (`index` is the item's position in the batch). */
export interface WriteReport {
  received: number;
  accepted: number;
  ignored: number;
  rejected: number;
  dropped_fields: number;
  problems: { index: number; reason: string; where: string | null }[];
  ids?: { index: number; id: string }[];
}

/** The body of `POST /v1/route`. */
export interface RouteRequest {
  task: string;
  candidates?: string[];
  max_cost_usd?: number;
  max_p95_ms?: number;
  input_tokens?: number;
  output_tokens?: number;
  policy?: "thompson" | "greedy" | "ucb" | "epsilon";
  cost_weight?: number;
  latency_weight?: number;
  project_id?: string;
  intent?: string;
  trace_id?: string;
  /** Record the call's start under the returned trace id (default true). */
  record?: boolean;
}

export interface Candidate {
  model_id: string;
  filtered: string | null;
  successes: number;
  failures: number;
  quality: number | null;
  score: number | null;
  expected_cost_usd: number | null;
  p95_latency_ms: number | null;
  [field: string]: unknown;
}

/** A routing decision: report the call's outcome against `trace_id`. */
export interface Decision {
  task: string;
  model_id: string | null;
  policy: string;
  propensity: number;
  fallbacks: string[];
  reason: string;
  degraded_fallback: boolean;
  candidates: Candidate[];
  trace_id: string | null;
}

export interface ModelProfile {
  model_id: string;
  task: string | null;
  project_id: string | null;
  calls: number;
  successes: number;
  failures: number;
  inconclusive: number;
  success_rate: number | null;
  success_interval: [number, number] | null;
  success_mean: number;
  quality: number | null;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; mean: number | null };
  cost_per_success: number | null;
  [field: string]: unknown;
}

export interface ModelsFilter {
  task?: string;
  project?: string;
  tag?: string;
  /** A duration such as `7d` or `12h`, or a Unix time. */
  since?: string | number;
}

export interface ModelsAnswer {
  models: ModelProfile[];
  as_of: number | null;
  receipts: number | null;
}

/** The service's error envelope, thrown for every non-2xx answer. */
export class OutcomesError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly where: string | null = null,
  ) {
    super(message);
    this.name = "OutcomesError";
  }
}

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8421` */
  baseUrl: string;
  /** The service's bearer token, when it has one. */
  token?: string;
  /** Per-request time limit in milliseconds (default 30000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class OutcomesClient {
  private readonly baseUrl: string;
  private readonly token?: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** `POST /v1/events`: answered once every accepted event is stored. */
  events(events: Event[]): Promise<WriteReport> {
    return this.request("POST", "/v1/events", events);
  }

  /** `POST /v1/feedback`. */
  feedback(items: FeedbackFields[]): Promise<WriteReport> {
    return this.request("POST", "/v1/feedback", items);
  }

  /** `POST /v1/route`: a decision with candidates, reasons, fallbacks and propensity. */
  route(request: RouteRequest): Promise<Decision> {
    return this.request("POST", "/v1/route", request);
  }

  /** `GET /v1/models`: the leaderboard, best first. */
  models(filter: ModelsFilter = {}): Promise<ModelsAnswer> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value !== undefined && value !== null) query.set(key, String(value));
    }
    const text = query.toString();
    const suffix = text ? `?${text}` : "";
    return this.request("GET", `/v1/models${suffix}`);
  }

  /** `GET /v1/models/{id}`: one model overall and per task. */
  model(modelId: string): Promise<{ model: ModelProfile; tasks: ModelProfile[] }> {
    return this.request("GET", `/v1/models/${encodeURIComponent(modelId)}`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const answer = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await answer.text();
    if (!answer.ok) {
      let error: { status?: number; code?: string; message?: string; where?: string | null } = {};
      try {
        error = JSON.parse(text).error ?? {};
      } catch {
        // not the envelope (a proxy's page): keep the status
      }
      throw new OutcomesError(
        answer.status,
        error.code ?? "http_error",
        error.message ?? `HTTP ${answer.status}`,
        error.where ?? null,
      );
    }
    return JSON.parse(text) as T;
  }
}
