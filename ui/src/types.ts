// The shapes the gateway's API answers with (only the fields the dashboard reads).

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export interface LogEntry {
  id: string;
  timestamp: string;
  object: string;
  provider: string;
  model: string;
  status: 'processing' | 'success' | 'error' | 'cancelled' | string;
  stream?: boolean;
  latency?: number | null;
  ttft?: number | null;
  token_usage?: Usage | null;
  cost?: number | null;
  selected_key_id?: string;
  selected_key_name?: string;
  virtual_key_id?: string | null;
  virtual_key_name?: string | null;
  number_of_retries?: number;
  fallback_index?: number;
  error_details?: { status_code?: number; error?: { type?: string; message?: string } } | null;
  input_history?: unknown;
  output_message?: unknown;
  params?: unknown;
  metadata?: Record<string, unknown> | null;
}

export interface LogsPage {
  logs: LogEntry[];
  pagination: { limit: number; offset: number; total_count: number };
  has_logs: boolean;
}

export interface Stats {
  total_requests: number;
  success_rate: number;
  average_latency: number;
  total_tokens: number;
  total_cost: number;
}

export interface FilterData {
  providers: string[];
  models: string[];
  selected_keys: { id: string; name: string }[];
  virtual_keys: { id: string; name: string }[];
}

export interface Histogram<B> {
  buckets: B[];
  bucket_size_seconds: number;
}
export interface CountBucket {
  timestamp: string;
  count: number;
  success: number;
  error: number;
  cancelled: number;
}
export interface LatencyBucket {
  timestamp: string;
  avg_latency: number;
  p90_latency: number;
  p95_latency: number;
  p99_latency: number;
  total_requests: number;
}
/** by_provider / by_model histograms: `groups` under `by_<what>`, names under `<what>s`. */
export type GroupedBucket = { timestamp: string; total_cost?: number | null } & Record<string, unknown>;
export type Grouped = Histogram<GroupedBucket> & Record<string, unknown>;

export interface Key {
  id?: string;
  name: string;
  value: string;
  models: string[];
  blacklisted_models?: string[];
  weight: number;
  enabled?: boolean;
  description?: string;
}

export interface NetworkConfig {
  base_url?: string;
  extra_headers?: Record<string, string>;
  default_request_timeout_in_seconds?: number;
  max_retries?: number;
  retry_backoff_initial_ms?: number;
  retry_backoff_max_ms?: number;
  [k: string]: unknown;
}

export interface Provider {
  name: string;
  keys: Key[];
  network_config: NetworkConfig;
  concurrency_and_buffer_size?: { concurrency: number; buffer_size: number };
  custom_provider_config?: { base_provider_type: string; is_key_less?: boolean };
  [k: string]: unknown;
}

export interface Budget {
  id?: string;
  max_limit: number;
  reset_duration: string;
  calendar_aligned?: boolean;
  current_usage?: number;
  resets_at?: string | null;
}

export interface RateLimit {
  id?: string;
  token_max_limit?: number | null;
  token_reset_duration?: string | null;
  token_current_usage?: number;
  request_max_limit?: number | null;
  request_reset_duration?: string | null;
  request_current_usage?: number;
}

export interface VkProviderConfig {
  id?: string;
  provider: string;
  weight?: number | null;
  allowed_models: string[];
  key_ids?: string[];
  budget?: Budget;
  rate_limit?: RateLimit;
}

export interface VirtualKey {
  id: string;
  name: string;
  description?: string;
  value_prefix?: string;
  value?: string;
  is_active: boolean;
  team_id?: string;
  customer_id?: string;
  budget?: Budget;
  rate_limit?: RateLimit;
  provider_configs: VkProviderConfig[];
  allow_all_providers?: boolean;
  created_at?: number;
}

export interface Team {
  id: string;
  name: string;
  customer_id?: string;
  budget?: Budget;
  created_at?: number;
}

export interface Customer {
  id: string;
  name: string;
  budget?: Budget;
  created_at?: number;
}

export interface AuthState {
  is_auth_enabled: boolean;
  has_valid_token: boolean;
}
