//! Request-log API (`/api/logs*`) and live events (`/ws`), in Bifrost's shapes. Handlers parse
//! the query, run the store's query on the blocking pool with its own read connection, and
//! answer; nothing here touches the writer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use super::request::parse_json;
use super::AppState;
use crate::error::{Error, Result};
use crate::plugins::logging::Logging;
use crate::store::logs_store::{GroupBy, Order, Page, SortBy};
use crate::store::timefmt::parse_rfc3339;
use crate::store::{LogFilter, LogsStore};

type ApiResult = std::result::Result<Response, Error>;
type QueryParams = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

/// Largest page (Bifrost's limit).
pub const MAX_LIMIT: u32 = 1000;

fn logging(state: &AppState) -> Result<&Arc<Logging>> {
    state.logs.as_ref().ok_or_else(|| {
        Error::NotFound("request logs are disabled (client.enable_logging is false)".into())
    })
}

/// Runs a store query on the blocking pool.
async fn query<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&LogsStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(&logging(state)?.store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| Error::Internal(format!("log query task failed: {e}")))?
}

fn params(q: QueryParams) -> Result<HashMap<String, String>> {
    q.map(|Query(map)| map)
        .map_err(|e| Error::BadRequest(format!("invalid query string: {e}")))
}

/// The filter of a logs query string (Bifrost's parameter names; lists comma separated).
pub fn parse_filter(q: &HashMap<String, String>) -> Result<LogFilter> {
    let list = |name: &str| -> Vec<String> {
        q.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let time = |name: &str| -> Result<Option<i64>> {
        non_empty(q, name)
            .map(|v| {
                parse_rfc3339(v).ok_or_else(|| {
                    Error::BadRequest(format!("{name}: {v:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
    };
    Ok(LogFilter {
        providers: list("providers"),
        models: list("models"),
        statuses: list("status"),
        objects: list("objects"),
        selected_key_ids: list("selected_key_ids"),
        virtual_key_ids: list("virtual_key_ids"),
        virtual_keys: Vec::new(),
        start_ms: time("start_time")?,
        end_ms: time("end_time")?,
        min_latency: number(q, "min_latency")?,
        max_latency: number(q, "max_latency")?,
        min_tokens: number(q, "min_tokens")?,
        max_tokens: number(q, "max_tokens")?,
        min_cost: number(q, "min_cost")?,
        max_cost: number(q, "max_cost")?,
        missing_cost_only: match non_empty(q, "missing_cost_only") {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(v) => {
                return Err(Error::BadRequest(format!(
                    "missing_cost_only: {v:?} is not true or false"
                )))
            }
        },
        content_search: non_empty(q, "content_search").map(str::to_owned),
    })
}

/// The page of a logs query string: `limit` (1-1000, default 50), `offset`, `sort_by`,
/// `order`.
pub fn parse_page(q: &HashMap<String, String>) -> Result<Page> {
    let mut page = Page::default();
    if let Some(limit) = number::<u32>(q, "limit")? {
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        page.limit = limit;
    }
    if let Some(offset) = number::<u64>(q, "offset")? {
        page.offset = offset;
    }
    if let Some(v) = non_empty(q, "sort_by") {
        page.sort_by = SortBy::parse(v).ok_or_else(|| {
            Error::BadRequest("sort_by must be timestamp, latency, tokens or cost".into())
        })?;
    }
    if let Some(v) = non_empty(q, "order") {
        page.order =
            Order::parse(v).ok_or_else(|| Error::BadRequest("order must be asc or desc".into()))?;
    }
    Ok(page)
}

fn non_empty<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> Result<Option<T>> {
    non_empty(q, name)
        .map(|v| {
            v.parse()
                .map_err(|_| Error::BadRequest(format!("{name}: {v:?} is not a valid number")))
        })
        .transpose()
}

/// `GET /api/logs`: `{logs, pagination{limit,offset,sort_by,order,total_count}, stats,
/// has_logs}`.
pub async fn search(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    let q = params(q)?;
    let (filter, page) = (parse_filter(&q)?, parse_page(&q)?);
    let result = query(&state, move |s| s.search(&filter, &page)).await?;
    Ok(Json(json!({
        "logs": result.logs,
        "pagination": {
            "limit": page.limit,
            "offset": page.offset,
            "sort_by": page.sort_by,
            "order": page.order,
            "total_count": result.total,
        },
        "stats": result.stats,
        "has_logs": result.has_logs,
    }))
    .into_response())
}

/// `GET /api/logs/{id}`.
pub async fn get(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let entry = query(&state, move |s| s.get(&id)).await?;
    let entry = entry.ok_or_else(|| Error::NotFound("log not found".into()))?;
    Ok(Json(entry).into_response())
}

/// `GET /api/logs/stats`.
pub async fn stats(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    let filter = parse_filter(&params(q)?)?;
    Ok(Json(query(&state, move |s| s.stats(&filter)).await?).into_response())
}

/// Which chart of the `/api/logs/histogram*` family.
#[derive(Debug, Clone, Copy)]
pub enum Chart {
    /// Requests by status.
    Requests,
    /// Tokens.
    Tokens,
    /// Tokens by provider.
    TokensByProvider,
    /// Cost by model.
    Cost,
    /// Cost by provider.
    CostByProvider,
    /// Requests by model and status.
    Models,
    /// Latency percentiles.
    Latency,
    /// Latency percentiles by provider.
    LatencyByProvider,
}

async fn chart(state: Arc<AppState>, q: QueryParams, chart: Chart) -> ApiResult {
    let filter = parse_filter(&params(q)?)?;
    let body = query(&state, move |s| {
        let value = match chart {
            Chart::Requests => serde_json::to_value(s.histogram(&filter)?),
            Chart::Tokens => serde_json::to_value(s.token_histogram(&filter)?),
            Chart::TokensByProvider => {
                serde_json::to_value(s.token_group_histogram(&filter, GroupBy::Provider)?)
            }
            Chart::Cost => serde_json::to_value(s.cost_histogram(&filter, GroupBy::Model)?),
            Chart::CostByProvider => {
                serde_json::to_value(s.cost_histogram(&filter, GroupBy::Provider)?)
            }
            Chart::Models => serde_json::to_value(s.model_histogram(&filter)?),
            Chart::Latency => serde_json::to_value(s.latency_histogram(&filter)?),
            Chart::LatencyByProvider => {
                serde_json::to_value(s.latency_group_histogram(&filter, GroupBy::Provider)?)
            }
        };
        value.map_err(|e| Error::Internal(e.to_string()))
    })
    .await?;
    Ok(Json(body).into_response())
}

/// `GET /api/logs/histogram`.
pub async fn histogram(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    chart(state, q, Chart::Requests).await
}

/// `GET /api/logs/histogram/tokens`.
pub async fn histogram_tokens(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    chart(state, q, Chart::Tokens).await
}

/// `GET /api/logs/histogram/tokens/by-provider`.
pub async fn histogram_tokens_by_provider(
    State(state): State<Arc<AppState>>,
    q: QueryParams,
) -> ApiResult {
    chart(state, q, Chart::TokensByProvider).await
}

/// `GET /api/logs/histogram/cost`.
pub async fn histogram_cost(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    chart(state, q, Chart::Cost).await
}

/// `GET /api/logs/histogram/cost/by-provider`.
pub async fn histogram_cost_by_provider(
    State(state): State<Arc<AppState>>,
    q: QueryParams,
) -> ApiResult {
    chart(state, q, Chart::CostByProvider).await
}

/// `GET /api/logs/histogram/models`.
pub async fn histogram_models(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    chart(state, q, Chart::Models).await
}

/// `GET /api/logs/histogram/latency`.
pub async fn histogram_latency(State(state): State<Arc<AppState>>, q: QueryParams) -> ApiResult {
    chart(state, q, Chart::Latency).await
}

/// `GET /api/logs/histogram/latency/by-provider`.
pub async fn histogram_latency_by_provider(
    State(state): State<Arc<AppState>>,
    q: QueryParams,
) -> ApiResult {
    chart(state, q, Chart::LatencyByProvider).await
}

/// `GET /api/logs/filterdata`: `{providers, models, selected_keys, virtual_keys}`.
pub async fn filter_data(State(state): State<Arc<AppState>>) -> ApiResult {
    Ok(Json(query(&state, LogsStore::filter_data).await?).into_response())
}

/// `GET /api/logs/dropped`: `{"dropped_requests": N}`, records lost since the start.
pub async fn dropped(State(state): State<Arc<AppState>>) -> ApiResult {
    let n = logging(&state)?.writer.dropped();
    Ok(Json(json!({ "dropped_requests": n })).into_response())
}

/// `DELETE /api/logs` body.
#[derive(Debug, Deserialize)]
pub struct DeleteLogs {
    ids: Vec<String>,
}

/// `DELETE /api/logs` with `{"ids": [...]}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let limit = state.gateway.snapshot().client.max_request_body_size_mb;
    let req: DeleteLogs = parse_json(raw, limit)?;
    if req.ids.is_empty() {
        return Err(Error::BadRequest("No log IDs provided".into()));
    }
    let deleted = query(&state, move |s| s.delete(&req.ids)).await?;
    Ok(Json(json!({"message": "Logs deleted successfully", "deleted": deleted})).into_response())
}

/// `GET /ws`: live log events, `{"type":"log","operation":"create"|"update","payload":Log}`.
pub async fn ws(
    State(state): State<Arc<AppState>>,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult {
    let upgrade = upgrade.map_err(|e| Error::BadRequest(format!("/ws needs a WebSocket: {e}")))?;
    let events = state.logs.as_ref().map(|l| l.writer.subscribe());
    Ok(upgrade.on_upgrade(move |socket| live(socket, events)))
}

async fn live(mut socket: WebSocket, events: Option<broadcast::Receiver<Arc<str>>>) {
    let Some(mut events) = events else {
        // Logging is off: nothing to send; stay open until the client leaves.
        while let Some(Ok(_)) = socket.recv().await {}
        return;
    };
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(text) => {
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a /ws client fell behind; events skipped");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
