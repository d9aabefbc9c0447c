//! Running checks against servers these tests start on 127.0.0.1: outcomes, retries, backoff,
//! per-attempt timeouts, concurrency, cancellation and ping.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use checks::{
    run_checks, CancellationToken, CheckSpec, CheckStatus, HttpCheck, RetryPolicy, RunContext,
};
use tokio::net::TcpListener;

/// Retries with tiny delays: 3 attempts, waits of 10ms then 20ms.
fn fast_context() -> RunContext {
    RunContext {
        retry: RetryPolicy {
            attempts: 3,
            initial_delay: Duration::from_millis(10),
            multiplier: 2.0,
            max_delay: Duration::from_millis(20),
        },
        attempt_timeout: Duration::from_secs(5),
        ..RunContext::default()
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    address
}

/// A port on 127.0.0.1 that nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// A server that accepts connections and never answers.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

async fn run_one(spec: CheckSpec, ctx: &RunContext) -> checks::CheckResult {
    let report = run_checks(&[spec], ctx, &CancellationToken::new()).await;
    report.results.into_iter().next().unwrap()
}

#[tokio::test]
async fn passing_http_and_tcp_checks_are_ok_in_declaration_order() {
    let address = serve(Router::new().route("/health", get(|| async { "ok" }))).await;
    let url = format!("http://{address}/health");
    let checks = [
        CheckSpec::http(HttpCheck::new(&url)),
        CheckSpec::tcp("127.0.0.1", address.port()).named("port"),
    ];
    let report = run_checks(&checks, &fast_context(), &CancellationToken::new()).await;

    assert!(report.passed());
    assert_eq!(report.summary(), "2 OK, 0 FAIL, 0 SKIP");
    assert_eq!(report.failure_report(), None);
    let http = &report.results[0];
    assert_eq!(http.name, format!("http:{url}"));
    assert_eq!(http.kind, "http");
    assert_eq!(http.target, url);
    assert_eq!(http.status, CheckStatus::Ok);
    assert_eq!(http.attempts, 1);
    assert_eq!(http.message, "status 200");
    let tcp = &report.results[1];
    assert_eq!(tcp.name, "port");
    assert_eq!(tcp.kind, "tcp");
    assert_eq!(tcp.target, format!("127.0.0.1:{}", address.port()));
    assert_eq!(tcp.status, CheckStatus::Ok);
    assert_eq!(tcp.message, format!("connected to {address}"));
}

#[tokio::test]
async fn wrong_status_fails_after_every_attempt_with_status_and_body_excerpt() {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let router = Router::new().route(
        "/health",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance") }
        }),
    );
    let address = serve(router).await;
    let result = run_one(
        CheckSpec::http(HttpCheck::new(format!("http://{address}/health"))),
        &fast_context(),
    )
    .await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 3);
    assert_eq!(requests.load(Ordering::SeqCst), 3);
    assert_eq!(
        result.message,
        "status 503 is not in 200-299; body starts: \"down for maintenance\""
    );
}

#[tokio::test]
async fn http_check_that_recovers_on_a_later_attempt_is_ok() {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let router = Router::new().route(
        "/",
        get(move || {
            let seen = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if seen < 2 {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let address = serve(router).await;
    let result = run_one(
        CheckSpec::http(HttpCheck::new(format!("http://{address}/"))),
        &fast_context(),
    )
    .await;

    assert_eq!(result.status, CheckStatus::Ok);
    assert_eq!(result.attempts, 3);
    assert_eq!(result.message, "status 204");
}

#[tokio::test]
async fn body_contains_mismatch_fails_quoting_the_body() {
    let address = serve(Router::new().route("/", get(|| async { "hello world" }))).await;
    let mut check = HttpCheck::new(format!("http://{address}/"));
    check.body_contains = Some("ready".to_string());
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 1,
            ..fast_context().retry
        },
        ..fast_context()
    };
    let result = run_one(CheckSpec::http(check), &ctx).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 1);
    assert_eq!(
        result.message,
        "status 200 but the body does not contain \"ready\" (11 bytes read; body starts: \"hello world\")"
    );
}

#[tokio::test]
async fn body_contains_match_passes() {
    let address = serve(Router::new().route("/", get(|| async { "{\"status\":\"ready\"}" }))).await;
    let mut check = HttpCheck::new(format!("http://{address}/"));
    check.body_contains = Some("\"ready\"".to_string());
    let result = run_one(CheckSpec::http(check), &fast_context()).await;

    assert_eq!(result.status, CheckStatus::Ok);
    assert_eq!(result.message, "status 200, body contains \"\"ready\"\"");
}

#[tokio::test]
async fn method_and_headers_are_sent() {
    let router = Router::new().route(
        "/",
        axum::routing::head(|headers: axum::http::HeaderMap| async move {
            match headers.get("x-token").and_then(|v| v.to_str().ok()) {
                Some("abc") => StatusCode::OK,
                _ => StatusCode::FORBIDDEN,
            }
        }),
    );
    let address = serve(router).await;
    let mut check = HttpCheck::new(format!("http://{address}/"));
    check.method = "HEAD".to_string();
    check
        .headers
        .insert("X-Token".to_string(), "abc".to_string());
    let result = run_one(CheckSpec::http(check), &fast_context()).await;

    assert_eq!(result.status, CheckStatus::Ok, "{}", result.message);
}

#[tokio::test]
async fn redirects_are_checked_not_followed() {
    let router = Router::new().route(
        "/",
        get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/login")]).into_response() }),
    );
    let address = serve(router).await;
    let url = format!("http://{address}/");
    let mut accepting_redirects = HttpCheck::new(&url);
    accepting_redirects.status_codes = "200,301-308".to_string();
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 1,
            ..fast_context().retry
        },
        ..fast_context()
    };
    let report = run_checks(
        &[
            CheckSpec::http(accepting_redirects),
            CheckSpec::http(HttpCheck::new(&url)),
        ],
        &ctx,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(report.results[0].status, CheckStatus::Ok);
    assert_eq!(report.results[0].message, "status 302");
    assert_eq!(report.results[1].status, CheckStatus::Fail);
    assert_eq!(
        report.results[1].message,
        "status 302 is not in 200-299 (redirect to /login; redirects are not followed: check that URL or add 302 to status_codes)"
    );
}

#[tokio::test]
async fn connection_refused_is_retried_with_backoff_and_reported() {
    let port = closed_port().await;
    let result = run_one(CheckSpec::tcp("127.0.0.1", port), &fast_context()).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 3);
    assert!(
        result.message.starts_with(&format!(
            "connect to 127.0.0.1:{port} failed: Connection refused"
        )),
        "{}",
        result.message
    );
    // The two waits (10ms and 20ms) were slept: a lower bound, not a speed limit.
    assert!(result.duration_ms >= 30, "{}", result.duration_ms);
}

#[tokio::test]
async fn http_retries_wait_the_backoff_delays_between_attempts() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let recorder = arrivals.clone();
    let router = Router::new().route(
        "/",
        get(move || {
            recorder.lock().unwrap().push(Instant::now());
            async { StatusCode::BAD_GATEWAY }
        }),
    );
    let address = serve(router).await;
    let result = run_one(
        CheckSpec::http(HttpCheck::new(format!("http://{address}/"))),
        &fast_context(),
    )
    .await;

    assert_eq!(result.attempts, 3);
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 3);
    assert!(arrivals[1] - arrivals[0] >= Duration::from_millis(10));
    assert!(arrivals[2] - arrivals[1] >= Duration::from_millis(20));
}

#[tokio::test]
async fn connection_refused_http_names_the_cause() {
    let port = closed_port().await;
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 2,
            ..fast_context().retry
        },
        ..fast_context()
    };
    let result = run_one(
        CheckSpec::http(HttpCheck::new(format!("http://127.0.0.1:{port}/"))),
        &ctx,
    )
    .await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 2);
    assert!(
        result.message.starts_with("GET request failed: ")
            && result.message.to_lowercase().contains("connection refused"),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn each_attempt_is_cut_at_the_per_attempt_timeout() {
    let address = silent_server().await;
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 2,
            ..fast_context().retry
        },
        attempt_timeout: Duration::from_millis(100),
        ..fast_context()
    };
    let result = run_one(
        CheckSpec::http(HttpCheck::new(format!("http://{address}/"))),
        &ctx,
    )
    .await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 2);
    assert_eq!(
        result.message,
        "no response within the 100ms per-attempt timeout"
    );
}

#[tokio::test]
async fn checks_run_concurrently() {
    // Each request waits for the other one to arrive: run one after the other they would both
    // time out.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let router = Router::new().route(
        "/",
        get(move || {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                "both arrived"
            }
        }),
    );
    let address = serve(router).await;
    let url = format!("http://{address}/");
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 1,
            ..fast_context().retry
        },
        ..fast_context()
    };
    let report = run_checks(
        &[
            CheckSpec::http(HttpCheck::new(&url)).named("first"),
            CheckSpec::http(HttpCheck::new(&url)).named("second"),
        ],
        &ctx,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(report.summary(), "2 OK, 0 FAIL, 0 SKIP");
    assert_eq!(report.results[0].name, "first");
    assert_eq!(report.results[1].name, "second");
}

#[tokio::test]
async fn cancelling_stops_a_running_attempt() {
    let address = silent_server().await;
    let ctx = RunContext {
        attempt_timeout: Duration::from_secs(600),
        ..fast_context()
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.cancel();
    });
    let report = run_checks(
        &[CheckSpec::http(HttpCheck::new(format!(
            "http://{address}/"
        )))],
        &ctx,
        &cancel,
    )
    .await;

    let result = &report.results[0];
    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 1);
    assert_eq!(
        result.message,
        "cancelled during attempt 1 (the provider was asked to stop)"
    );
    assert!(!report.passed());
}

#[tokio::test]
async fn cancelling_stops_a_backoff_wait_and_keeps_the_last_error() {
    let port = closed_port().await;
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 3,
            initial_delay: Duration::from_secs(600),
            multiplier: 1.0,
            max_delay: Duration::from_secs(600),
        },
        ..fast_context()
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let report = run_checks(&[CheckSpec::tcp("127.0.0.1", port)], &ctx, &cancel).await;

    let result = &report.results[0];
    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 1);
    assert!(
        result.message.starts_with(&format!(
            "cancelled after attempt 1 (the provider was asked to stop); last error: connect to 127.0.0.1:{port} failed: Connection refused"
        )),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn already_cancelled_run_fails_every_check_without_waiting() {
    let cancel = CancellationToken::new();
    cancel.cancel();
    let port = closed_port().await;
    let report = run_checks(
        &[
            CheckSpec::tcp("127.0.0.1", port),
            CheckSpec::ping("127.0.0.1"),
        ],
        &fast_context(),
        &cancel,
    )
    .await;

    assert_eq!(report.summary(), "0 OK, 2 FAIL, 0 SKIP");
    for result in &report.results {
        assert!(
            result.message.starts_with("cancelled"),
            "{}",
            result.message
        );
    }
}

#[tokio::test]
async fn ping_of_loopback_is_ok_or_skip_with_the_reason_never_a_bare_fail() {
    let ctx = RunContext {
        attempt_timeout: Duration::from_secs(5),
        ..fast_context()
    };
    let result = run_one(CheckSpec::ping("127.0.0.1"), &ctx).await;

    assert_eq!(result.name, "ping:127.0.0.1");
    assert_eq!(result.kind, "ping");
    assert_eq!(result.target, "127.0.0.1");
    match result.status {
        CheckStatus::Ok => {
            assert_eq!(result.attempts, 1);
            assert!(
                result.message.starts_with("echo reply from 127.0.0.1 in "),
                "{}",
                result.message
            );
        }
        CheckStatus::Skip => {
            assert_eq!(result.attempts, 1, "SKIP is not retried");
            assert!(
                result
                    .message
                    .starts_with("ICMP not permitted: unprivileged ICMP socket: "),
                "{}",
                result.message
            );
            assert!(result.message.contains("raw ICMP socket: "));
        }
        CheckStatus::Fail => panic!("ping of 127.0.0.1 failed: {:?}", result),
    }
    assert!(!result.message.is_empty());
}

#[tokio::test]
async fn invalid_http_check_fails_without_attempting() {
    let mut check = HttpCheck::new("http://127.0.0.1/");
    check.status_codes = "2xx".to_string();
    let result = run_one(CheckSpec::http(check), &fast_context()).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 0);
    assert!(
        result
            .message
            .starts_with("invalid http check, not run: status_codes \"2xx\""),
        "{}",
        result.message
    );
}
