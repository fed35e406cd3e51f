//! `/metrics` on the web port: the portal's figures and the server's latest
//! (sent over the link every `[metrics] interval_secs`), in the OpenMetrics
//! text format Prometheus scrapes, encoded by `prometheus-client`.
//!
//! Off unless `[metrics] enabled`; with `[metrics] token` set, a scrape must
//! send `Authorization: Bearer <token>`.

use std::fmt::Write as _;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tavern_shared::metrics::{Histogram, ServerMetrics};

use crate::stats::{HubFigures, PortalStats};

/// OpenMetrics' content type.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answers a scrape: 401 without the token, else the figures.
pub(crate) fn scrape(stats: &PortalStats, token: &str, headers: &HeaderMap) -> Response {
    if !token.is_empty() {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same(sent.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "The metrics need the token of [metrics] token.\n",
            )
                .into_response();
        }
    }
    match render(stats) {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics\n",
        )
            .into_response(),
    }
}

/// Compares without stopping at the first difference (a token is a secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The figures as OpenMetrics text.
pub(crate) fn render(stats: &PortalStats) -> Result<String, std::fmt::Error> {
    let snapshot = Snapshot {
        instance: stats.instance.clone(),
        hub: stats.hub.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        inputs: stats.inputs.load(std::sync::atomic::Ordering::Relaxed),
        server_up: stats.server_up.load(std::sync::atomic::Ordering::Relaxed),
        uptime: (tavern_shared::session::now_millis() / 1000).saturating_sub(stats.started_unix),
        rss: tavern_shared::metrics::rss_bytes().unwrap_or(0),
        server: stats
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(at, m)| (at.elapsed().as_secs_f64(), m.clone())),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// What one scrape reports, read once.
#[derive(Debug)]
struct Snapshot {
    instance: String,
    hub: HubFigures,
    inputs: u64,
    server_up: bool,
    uptime: u64,
    rss: u64,
    /// How old the server's figures are, and they.
    server: Option<(f64, ServerMetrics)>,
}

fn gauge(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: f64) -> std::fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&v)
}

fn counter(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64) -> std::fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn histogram(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    h: &Histogram,
) -> std::fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Histogram)?
        .encode_histogram::<NoLabelSet>(h.sum, h.count(), &h.buckets(), None)
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        let portal = self.instance.as_str();
        for (name, help, logged_in) in [
            (
                "tavern_portal_sessions",
                "Connections the portal holds, by protocol.",
                false,
            ),
            (
                "tavern_portal_logged_in",
                "Connections logged in to an account, by protocol.",
                true,
            ),
        ] {
            let mut family = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (protocol, (all, logged)) in &self.hub.sessions {
                let v = if logged_in { *logged } else { *all };
                family
                    .encode_family(&[("portal", portal), ("protocol", protocol.as_str())])?
                    .encode_gauge(&v)?;
            }
        }
        counter(
            &mut e,
            "tavern_portal_inputs",
            "Lines of input players sent.",
            self.inputs,
        )?;
        gauge(
            &mut e,
            "tavern_portal_unacked_inputs",
            "Input sent to the server and not yet answered (kept to be replayed).",
            self.hub.unacked_inputs as f64,
        )?;
        gauge(
            &mut e,
            "tavern_portal_queue",
            "Events waiting for the portal's session handler.",
            self.hub.queue as f64,
        )?;
        gauge(
            &mut e,
            "tavern_portal_server_up",
            "1 while a game server is linked to the portal.",
            f64::from(u8::from(self.server_up)),
        )?;
        counter(
            &mut e,
            "tavern_portal_server_starts",
            "Game server processes this portal started: the first, reloads, and restarts after a crash.",
            self.hub.starts,
        )?;
        gauge(
            &mut e,
            "tavern_portal_resident_memory_bytes",
            "The portal process's resident memory.",
            self.rss as f64,
        )?;
        gauge(
            &mut e,
            "tavern_portal_uptime_seconds",
            "Seconds since the portal started.",
            self.uptime as f64,
        )?;
        let Some((age, s)) = &self.server else {
            return Ok(());
        };
        gauge(
            &mut e,
            "tavern_server_figures_age_seconds",
            "How old the server's figures below are.",
            *age,
        )?;
        counter(
            &mut e,
            "tavern_server_commands",
            "Lines of input the server ran.",
            s.commands_total,
        )?;
        histogram(
            &mut e,
            "tavern_server_command_seconds",
            "How long a line of input took on the game thread.",
            &s.command_seconds,
        )?;
        counter(
            &mut e,
            "tavern_server_messages",
            "Messages sent to sessions.",
            s.messages_total,
        )?;
        gauge(
            &mut e,
            "tavern_server_event_queue",
            "Events waiting for the game thread.",
            s.event_queue as f64,
        )?;
        gauge(
            &mut e,
            "tavern_server_held_frames",
            "Answers held until what they report is saved.",
            s.held_frames as f64,
        )?;
        gauge(
            &mut e,
            "tavern_persister_lag",
            "Changes handed to the database writer and not yet durable.",
            s.persister_lag as f64,
        )?;
        gauge(
            &mut e,
            "tavern_persister_lag_seconds",
            "How long the oldest change not yet durable has waited.",
            s.persister_lag_seconds,
        )?;
        counter(
            &mut e,
            "tavern_persister_commits",
            "Commits written to the database.",
            s.commits_total,
        )?;
        histogram(
            &mut e,
            "tavern_persister_commit_seconds",
            "How long a commit took to write.",
            &s.commit_seconds,
        )?;
        histogram(
            &mut e,
            "tavern_persister_commit_rows",
            "Rows written per commit.",
            &s.commit_rows,
        )?;
        counter(
            &mut e,
            "tavern_database_errors",
            "Database writes that failed (each is retried until it lands).",
            s.database_errors_total,
        )?;
        for (name, help, v) in [
            ("tavern_world_objects", "Objects in the world.", s.objects),
            ("tavern_world_accounts", "Accounts.", s.accounts),
            (
                "tavern_server_sessions",
                "Sessions the server knows.",
                s.sessions,
            ),
            (
                "tavern_server_logged_in",
                "Sessions logged in, as the server sees them.",
                s.logged_in,
            ),
            ("tavern_flows", "Flows running.", s.flows),
            ("tavern_scripts", "Scripts.", s.scripts),
            ("tavern_timers", "Delays and tickers waiting.", s.timers),
            (
                "tavern_server_resident_memory_bytes",
                "The server process's resident memory.",
                s.rss_bytes,
            ),
            (
                "tavern_server_uptime_seconds",
                "Seconds since the server process started.",
                s.uptime_secs,
            ),
        ] {
            gauge(&mut e, name, help, v as f64)?;
        }
        let mut info = String::new();
        let _ = write!(info, "{}", s.pid);
        e.encode_descriptor(
            "tavern_server",
            "The linked server process.",
            None,
            MetricType::Info,
        )?
        .encode_info(&[("pid", info.as_str())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_openmetrics_text_with_the_server_s_when_it_sent_them() {
        let stats = PortalStats::new("Test".into(), 4000, 0xab);
        let mut hub = HubFigures::default();
        hub.sessions.insert("telnet".into(), (3, 2));
        hub.unacked_inputs = 4;
        stats.set_hub(hub);
        let text = render(&stats).unwrap();
        assert!(
            text.contains(
                "tavern_portal_sessions{portal=\"00000000000000ab\",protocol=\"telnet\"} 3"
            ),
            "{text}"
        );
        assert!(text.contains("tavern_portal_unacked_inputs 4"), "{text}");
        assert!(
            !text.contains("tavern_server_commands"),
            "no server figures yet"
        );
        assert!(text.ends_with("# EOF\n"));

        let mut m = ServerMetrics {
            commands_total: 7,
            ..Default::default()
        };
        m.command_seconds.observe(0.0003);
        m.command_seconds.observe(0.002);
        stats.set_server(m);
        let text = render(&stats).unwrap();
        assert!(
            text.contains("# TYPE tavern_server_commands counter"),
            "{text}"
        );
        assert!(text.contains("tavern_server_commands_total 7"), "{text}");
        assert!(
            text.contains("tavern_server_command_seconds_bucket{le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tavern_server_command_seconds_bucket{le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("tavern_server_command_seconds_count 2"),
            "{text}"
        );
    }

    #[test]
    fn a_scrape_without_the_token_is_refused() {
        let stats = PortalStats::new("Test".into(), 4000, 1);
        let mut headers = HeaderMap::new();
        assert_eq!(
            scrape(&stats, "s3cret", &headers).status(),
            StatusCode::UNAUTHORIZED
        );
        headers.insert(header::AUTHORIZATION, "Bearer wrong!".parse().unwrap());
        assert_eq!(
            scrape(&stats, "s3cret", &headers).status(),
            StatusCode::UNAUTHORIZED
        );
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert_eq!(scrape(&stats, "s3cret", &headers).status(), StatusCode::OK);
        assert_eq!(
            scrape(&stats, "", &HeaderMap::new()).status(),
            StatusCode::OK,
            "no token set: open"
        );
    }
}
