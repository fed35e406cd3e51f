//! One bot: it connects, waits for the connection screen, creates its
//! account, logs in, runs its profile's setup, then acts until told to stop,
//! timing every action by its marker. Text is handled a line at a time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use crate::config::{MarkerMode, RunConfig};
use crate::conn::{Conn, Out};
use crate::marker::{self, Marker};
use crate::profile::{Vars, echoes_marker, expand};
use crate::stats::Samples;
use crate::telnet::ClientOptions;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Bots log in and set up.
    Login,
    /// Bots act.
    Act,
    /// Bots stop sending, wait for what is outstanding, and disconnect.
    Stop,
}

/// What every bot of a run shares.
pub struct Shared {
    /// The run's settings.
    pub cfg: Arc<RunConfig>,
    /// When the run began: markers count microseconds from here.
    pub base: Instant,
    /// The phase, as the run's conductor sets it.
    pub phase: watch::Receiver<Phase>,
    /// When the measurement window begins, in microseconds since `base`
    /// (0: not yet): actions sent from then on count, and lines heard of them.
    pub window_start_us: AtomicU64,
    /// When it ends: actions sent from then on do not count.
    pub window_end_us: AtomicU64,
    /// When the reload was ordered, in microseconds since `base` (0: not yet).
    pub reload_order_us: AtomicU64,
    /// Per group: whether its leader's setup is done.
    pub groups: Vec<watch::Sender<bool>>,
    /// Bots that finished logging in and setting up.
    pub ready: AtomicUsize,
    /// Bots that gave up.
    pub failed: AtomicUsize,
    /// Connections refused or dropped before the connection screen.
    pub connect_errors: AtomicUsize,
}

impl Shared {
    fn us_since_base(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Whether an action sent at `us` counts: one rule for its sender and
    /// for everyone who hears it, so the two always agree.
    fn in_window(&self, us: u64) -> bool {
        let start = self.window_start_us.load(Ordering::Relaxed);
        start > 0 && us >= start && us < self.window_end_us.load(Ordering::Relaxed)
    }
}

/// What one bot saw.
#[derive(Debug, Default)]
pub struct BotReport {
    /// It connected.
    pub connected: bool,
    /// Why it could not connect, or gave up before logging in.
    pub error: Option<String>,
    /// From connecting to the connection screen.
    pub greet: Option<Duration>,
    /// When the connection screen came (for rates).
    pub greeted_at: Option<Instant>,
    /// From sending `create` to its answer.
    pub create: Option<Duration>,
    /// From sending `connect` to being in the game.
    pub connect: Option<Duration>,
    /// From sending `create` to being in the game.
    pub login: Option<Duration>,
    /// When it was in the game (for rates).
    pub logged_in_at: Option<Instant>,
    /// It finished its setup.
    pub ready: bool,
    /// Actions sent in the window.
    pub sent: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Sent in the window, per action (by index of the profile's actions).
    pub sent_by_action: Vec<u64>,
    /// Latency per action (by index of the profile's actions), in the window.
    pub by_action: Vec<Samples>,
    /// Lines of other bots' markers heard (listening profiles): time since sent.
    pub heard: Samples,
    /// From the reload order until the command sent on seeing the restart notice was answered.
    pub reload_recovery: Option<Duration>,
    /// From the reload notice until that command was answered: how long
    /// the bot could not be served (a standby reload serves on until the
    /// notice).
    pub reload_pause: Option<Duration>,
    /// The server closed the connection while the bot played.
    pub dropped: bool,
    /// Bytes received.
    pub bytes_in: u64,
}

struct Pending {
    seq: u64,
    sent: Instant,
    action: usize,
    measured: bool,
    probe: bool,
}

/// Holds a group open for its members even when the leader fails.
struct Signal<'a>(Option<&'a watch::Sender<bool>>);

impl Drop for Signal<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.0 {
            // `send` would drop the value if no member has subscribed yet.
            s.send_replace(true);
        }
    }
}

/// A bot's identity and working state.
pub struct Bot {
    idx: usize,
    name: String,
    shared: Arc<Shared>,
    conn: Option<Conn>,
    report: BotReport,
    pending: VecDeque<Pending>,
    seq: u64,
    cycle: Vec<usize>,
    rng: SmallRng,
    found: Vec<Marker>,
    probe_due: bool,
    probe_sent: bool,
    /// When the reload notice was seen.
    notice_at: Option<Instant>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// How long a listening bot keeps reading after the window closes: a line
/// said before then that arrives later is counted missing.
const LISTEN_LINGER: Duration = Duration::from_secs(2);

/// Marks a failure that ends the bot.
type Step<T> = Result<T, String>;

impl Bot {
    /// Bot number `idx` of a run.
    pub fn new(shared: Arc<Shared>, idx: usize) -> Self {
        let cfg = &shared.cfg;
        let name = format!("{}{}-{}", cfg.login.name_prefix, cfg.run_id, idx);
        let actions = cfg.profile.actions.len();
        let seed = cfg.seed ^ (idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Self {
            idx,
            name,
            conn: None,
            report: BotReport {
                sent_by_action: vec![0; actions + 1],
                by_action: vec![Samples::default(); actions + 1],
                ..Default::default()
            },
            pending: VecDeque::new(),
            seq: 0,
            cycle: vec![0; actions],
            rng: SmallRng::seed_from_u64(seed),
            found: Vec::new(),
            probe_due: false,
            probe_sent: false,
            notice_at: None,
            permit: None,
            shared,
        }
    }

    /// The account name this bot uses.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn vars<'a>(&'a self, marker: &'a str) -> Vars<'a> {
        let cfg = &self.shared.cfg;
        Vars {
            name: &self.name,
            password: &cfg.login.password,
            i: self.idx,
            n: self.seq,
            run: &cfg.run_id,
            group: self.group(),
            marker,
        }
    }

    fn group(&self) -> usize {
        match self.shared.cfg.profile.group_size {
            0 => 0,
            size => self.idx / size,
        }
    }

    fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connected")
    }

    /// Lets the next bot log in once this one is in (or gave up).
    pub fn with_permit(mut self, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        self.permit = Some(permit);
        self
    }

    /// Plays the whole life of a bot of the run's profile.
    pub async fn play(mut self) -> BotReport {
        let greet_only = self.shared.cfg.profile.greet_only;
        let mut result = self.login().await;
        if result.is_ok() && !greet_only {
            result = self.setup().await;
        }
        self.permit = None;
        let result = match result {
            Ok(()) => {
                self.report.ready = true;
                self.shared.ready.fetch_add(1, Ordering::Relaxed);
                if greet_only {
                    self.hold().await
                } else {
                    self.act().await
                }
            }
            Err(e) => {
                self.shared.failed.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        };
        if let Err(e) = result {
            self.report.error = Some(e);
        }
        self.finish().await
    }

    /// Logs in, then quits at once (the login storm of a run).
    pub async fn login_and_quit(mut self) -> BotReport {
        if let Err(e) = self.login().await {
            self.report.error = Some(e);
        } else if let Some(c) = self.conn.as_mut() {
            let _ = c.send(&[Out::Line("quit")]).await;
        }
        self.finish().await
    }

    async fn finish(mut self) -> BotReport {
        if let Some(c) = self.conn.take() {
            self.report.bytes_in = c.bytes_in;
            c.close().await;
        }
        self.report
    }

    async fn login(&mut self) -> Step<()> {
        let cfg = self.shared.cfg.clone();
        let t0 = Instant::now();
        let opts = ClientOptions {
            gmcp: cfg.marker == MarkerMode::Echo,
            mccp: cfg.mccp,
        };
        let connected = tokio::time::timeout(
            cfg.step_timeout,
            Conn::open(&cfg.transport.for_bot(self.idx), opts),
        )
        .await;
        let conn = match connected {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                self.shared.connect_errors.fetch_add(1, Ordering::Relaxed);
                return Err(format!("connect: {e}"));
            }
            Err(_) => {
                self.shared.connect_errors.fetch_add(1, Ordering::Relaxed);
                return Err("connect: timed out".into());
            }
        };
        self.conn = Some(conn);
        self.report.connected = true;
        let deadline = t0 + cfg.step_timeout;
        if let Err(e) = self.expect(&cfg.login.greeting, &[], deadline).await {
            self.shared.connect_errors.fetch_add(1, Ordering::Relaxed);
            return Err(format!("connection screen: {e}"));
        }
        let now = Instant::now();
        self.report.greet = Some(now - t0);
        self.report.greeted_at = Some(now);
        if cfg.profile.greet_only {
            return Ok(());
        }
        let t_create = Instant::now();
        if let Some(create) = &cfg.login.create {
            let line = expand(create, &self.vars(""));
            self.send_line(&line).await?;
            let ok: Vec<String> = cfg
                .login
                .created
                .iter()
                .map(|t| expand(t, &self.vars("")))
                .collect();
            self.expect(&ok, &cfg.login.fail, t_create + cfg.step_timeout)
                .await
                .map_err(|e| format!("create: {e}"))?;
            self.report.create = Some(t_create.elapsed());
        }
        let t_connect = Instant::now();
        let line = expand(&cfg.login.connect, &self.vars(""));
        self.send_line(&line).await?;
        let ok: Vec<String> = cfg
            .login
            .logged_in
            .iter()
            .map(|t| expand(t, &self.vars("")))
            .collect();
        self.expect(&ok, &cfg.login.fail, t_connect + cfg.step_timeout)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let now = Instant::now();
        self.report.connect = Some(now - t_connect);
        self.report.login = Some(now - t_create);
        self.report.logged_in_at = Some(now);
        Ok(())
    }

    /// Keeps the connection open until the run stops (greet-only bots).
    async fn hold(&mut self) -> Step<()> {
        let mut phase = self.shared.phase.clone();
        loop {
            tokio::select! {
                r = self.conn().read() => match r {
                    Ok(true) => self.conn().text.clear(),
                    Ok(false) | Err(_) => {
                        self.report.dropped = true;
                        return Ok(());
                    }
                },
                _ = phase.wait_for(|p| *p == Phase::Stop) => return Ok(()),
            }
        }
    }

    async fn setup(&mut self) -> Step<()> {
        let cfg = self.shared.cfg.clone();
        let profile = &cfg.profile;
        for cmd in &profile.setup {
            self.run_marked(cmd).await?;
        }
        if profile.group_size == 0 {
            return Ok(());
        }
        let group = self.group();
        let shared = self.shared.clone();
        let Some(signal) = shared.groups.get(group) else {
            return Ok(());
        };
        if self.idx.is_multiple_of(profile.group_size) {
            let _done = Signal(Some(signal));
            for cmd in &profile.leader_setup {
                self.run_marked(cmd).await?;
            }
        } else {
            let mut rx = signal.subscribe();
            let waited = tokio::time::timeout(cfg.step_timeout, rx.wait_for(|done| *done))
                .await
                .is_ok();
            if !waited {
                return Err("setup: the group's leader never got ready".into());
            }
            for cmd in &profile.member_setup {
                self.run_marked(cmd).await?;
            }
        }
        Ok(())
    }

    /// Sends one command with a marker and waits for its answer.
    async fn run_marked(&mut self, template: &str) -> Step<()> {
        let deadline = Instant::now() + self.shared.cfg.step_timeout;
        let seq = self.send_action(template, usize::MAX, false).await?;
        while self.pending.iter().any(|p| p.seq == seq) {
            self.read_until(deadline)
                .await
                .map_err(|e| format!("setup: {e}"))?;
        }
        Ok(())
    }

    /// Reads once (or until the deadline) and handles whole lines.
    async fn read_until(&mut self, deadline: Instant) -> Step<()> {
        tokio::select! {
            r = self.conn().read() => match r {
                Ok(true) => {
                    self.lines();
                    Ok(())
                }
                Ok(false) => Err("the server closed the connection".into()),
                Err(e) => Err(e.to_string()),
            },
            _ = sleep_until(deadline) => Err("timed out".into()),
        }
    }

    async fn act(&mut self) -> Step<()> {
        let cfg = self.shared.cfg.clone();
        let profile = &cfg.profile;
        let mut phase = self.shared.phase.clone();
        phase
            .wait_for(|p| *p != Phase::Login)
            .await
            .map_err(|_| "the run ended".to_string())?;
        let total = profile.total_weight();
        let open_rate = if profile.closed { 0.0 } else { profile.rate };
        let mut next_at = Instant::now() + self.gap(open_rate);
        let mut acting = *phase.borrow() == Phase::Act;
        let mut drain_until = Instant::now() + cfg.drain;
        // A listener stays a moment after the window: lines said just
        // before it closed are still on their way.
        let mut linger_until = drain_until;
        // Closed loop: when the next action is due (after thinking).
        let mut think_until: Option<Instant> = None;
        loop {
            if self.probe_due && acting {
                self.probe_due = false;
                let probe = cfg
                    .reload
                    .as_ref()
                    .map(|r| r.probe.clone())
                    .unwrap_or_else(|| "look".into());
                self.send_action(&probe, usize::MAX - 1, true).await?;
            }
            if acting && profile.closed && self.pending.is_empty() && total > 0 {
                let now = Instant::now();
                match think_until {
                    None if profile.think_ms > 0.0 => {
                        let jitter: f64 = self.rng.random_range(0.9..1.1);
                        think_until =
                            Some(now + Duration::from_secs_f64(profile.think_ms * jitter / 1000.0));
                    }
                    Some(t) if t > now => {}
                    _ => {
                        think_until = None;
                        self.random_action(total).await?;
                    }
                }
            }
            if !acting
                && self.pending.is_empty()
                && (!profile.listen || Instant::now() >= linger_until)
            {
                return Ok(());
            }
            tokio::select! {
                r = self.conn().read() => match r {
                    Ok(true) => self.lines(),
                    Ok(false) | Err(_) => {
                        self.report.dropped = acting;
                        return Ok(());
                    }
                },
                _ = sleep_until(next_at), if acting && open_rate > 0.0 && total > 0 => {
                    self.random_action(total).await?;
                    let now = Instant::now();
                    next_at += self.gap(open_rate);
                    // A bot held up (a reload) does not make up for lost time in a burst.
                    if next_at + Duration::from_secs(1) < now {
                        next_at = now;
                    }
                }
                changed = phase.changed(), if acting => {
                    if changed.is_err() || *phase.borrow() == Phase::Stop {
                        acting = false;
                        drain_until = Instant::now() + cfg.drain;
                        linger_until = Instant::now() + LISTEN_LINGER;
                    }
                }
                _ = sleep_until(think_until.unwrap_or(drain_until)), if acting && think_until.is_some() => {}
                _ = sleep_until(linger_until), if !acting && profile.listen && self.pending.is_empty() => {}
                _ = sleep_until(drain_until), if !acting => return Ok(()),
            }
        }
    }

    /// The time to the next action of an open loop: exponential, mean 1/rate.
    fn gap(&mut self, rate: f64) -> Duration {
        if rate <= 0.0 {
            return Duration::from_secs(3600);
        }
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        Duration::from_secs_f64((-u.ln() / rate).min(3600.0))
    }

    async fn random_action(&mut self, total: u32) -> Step<()> {
        let cfg = self.shared.cfg.clone();
        let roll = self.rng.random_range(0..total);
        let a = cfg.profile.pick(roll);
        let action = &cfg.profile.actions[a];
        let template = &action.send[self.cycle[a] % action.send.len()];
        self.cycle[a] += 1;
        self.send_action(template, a, true).await?;
        Ok(())
    }

    /// Sends an action and its marker; returns its sequence number. A
    /// `measured` action counts if it is sent inside the window.
    async fn send_action(&mut self, template: &str, action: usize, measured: bool) -> Step<u64> {
        self.seq += 1;
        let m = Marker {
            bot: self.idx as u32,
            seq: self.seq,
            sent_us: self.shared.us_since_base(),
        };
        let measured = measured && self.shared.in_window(m.sent_us);
        let marker = m.to_string();
        let line = expand(template, &self.vars(&marker));
        let cfg = self.shared.cfg.clone();
        let sent = Instant::now();
        let r = if echoes_marker(template) {
            self.conn().send(&[Out::Line(&line)]).await
        } else {
            match &cfg.marker {
                MarkerMode::Echo => {
                    self.conn()
                        .send(&[Out::Line(&line), Out::Echo(&marker)])
                        .await
                }
                MarkerMode::Text(t) => {
                    let echo = expand(t, &self.vars(&marker));
                    self.conn()
                        .send(&[Out::Line(&line), Out::Line(&echo)])
                        .await
                }
            }
        };
        r.map_err(|e| format!("send: {e}"))?;
        let probe = action == usize::MAX - 1;
        if measured {
            self.report.sent += 1;
            let slot = self.slot(action);
            self.report.sent_by_action[slot] += 1;
        }
        self.pending.push_back(Pending {
            seq: self.seq,
            sent,
            action,
            measured,
            probe,
        });
        Ok(self.seq)
    }

    /// Where an action's figures go: setup and probes share the last slot.
    fn slot(&self, action: usize) -> usize {
        action.min(self.report.by_action.len() - 1)
    }

    async fn send_line(&mut self, line: &str) -> Step<()> {
        self.conn()
            .send(&[Out::Line(line)])
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// Handles every whole line received.
    fn lines(&mut self) {
        let text = std::mem::take(&mut self.conn().text);
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &text[start..]) {
            self.line(&text[start..start + nl]);
            start += nl + 1;
        }
        let mut rest = text;
        rest.drain(..start);
        self.conn().text = rest;
    }

    fn line(&mut self, line: &[u8]) {
        let cfg = self.shared.cfg.clone();
        if let Some(reload) = &cfg.reload
            && !self.probe_sent
            && self.shared.reload_order_us.load(Ordering::Relaxed) > 0
            && memchr::memmem::find(line, reload.notice.as_bytes()).is_some()
        {
            self.probe_sent = true;
            self.probe_due = true;
            self.notice_at = Some(Instant::now());
        }
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        marker::find_all(line, &mut found);
        let now = Instant::now();
        for m in &found {
            if cfg.profile.listen && self.shared.in_window(m.sent_us) {
                let sent_at = self.shared.base + Duration::from_micros(m.sent_us);
                self.report
                    .heard
                    .add(now.saturating_duration_since(sent_at));
            }
            if m.bot as usize != self.idx {
                continue;
            }
            let Some(pos) = self.pending.iter().position(|p| p.seq == m.seq) else {
                continue;
            };
            let p = self.pending.remove(pos).expect("found");
            if p.measured {
                self.report.answered += 1;
                let slot = self.slot(p.action);
                self.report.by_action[slot].add(now - p.sent);
            }
            if p.probe {
                let order = self.shared.reload_order_us.load(Ordering::Relaxed);
                let order_at = self.shared.base + Duration::from_micros(order);
                self.report.reload_recovery = Some(now.saturating_duration_since(order_at));
                self.report.reload_pause = self.notice_at.map(|t| now.saturating_duration_since(t));
            }
        }
        self.found = found;
    }

    /// Reads until a whole line holds one of `ok` (its index) or of `fail`
    /// (an error with that line), the connection closes, or the deadline.
    async fn expect(&mut self, ok: &[String], fail: &[String], deadline: Instant) -> Step<usize> {
        loop {
            let text = std::mem::take(&mut self.conn().text);
            let mut start = 0;
            let mut outcome = None;
            while let Some(nl) = memchr::memchr(b'\n', &text[start..]) {
                let line = &text[start..start + nl];
                start += nl + 1;
                let has = |n: &String| memchr::memmem::find(line, n.as_bytes()).is_some();
                if let Some(i) = ok.iter().position(has) {
                    outcome = Some(Ok(i));
                } else if fail.iter().any(has) {
                    outcome = Some(Err(String::from_utf8_lossy(line).trim().to_string()));
                }
                if outcome.is_some() {
                    break;
                }
            }
            let mut rest = text;
            rest.drain(..start);
            self.conn().text = rest;
            if let Some(o) = outcome {
                return o;
            }
            tokio::select! {
                r = self.conn().read() => match r {
                    Ok(true) => {}
                    Ok(false) => return Err("the server closed the connection".into()),
                    Err(e) => return Err(e.to_string()),
                },
                _ = sleep_until(deadline) => {
                    let got = String::from_utf8_lossy(&self.conn().text).chars().rev().take(200).collect::<String>();
                    return Err(format!("timed out (last text: {:?})", got.chars().rev().collect::<String>()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_leader_done_before_anyone_waits_is_still_seen_done() {
        let (tx, _) = watch::channel(false);
        // Every receiver is gone: the leader finishes first.
        drop(Signal(Some(&tx)));
        let mut member = tx.subscribe();
        let seen = tokio::time::timeout(Duration::from_secs(5), member.wait_for(|d| *d)).await;
        assert!(
            seen.is_ok(),
            "a member who comes late must not wait forever"
        );
    }
}
