//! The conductor of a run: start the bots (at the configured rate and
//! concurrency), wait for them to log in, let them act through a warm-up and
//! the measurement window — ordering a reload or a login storm in it if
//! asked — then stop them, wait for what is outstanding, and report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, sleep, sleep_until};

use crate::bot::{Bot, BotReport, Phase, Shared};
use crate::config::RunConfig;
use crate::procs::{self, ProcWatch};
use crate::report::{self, Report};
use crate::stats::Samples;

/// How often the processes are read during a window.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Runs one load test and reports what it measured.
pub async fn run(cfg: RunConfig) -> anyhow::Result<Report> {
    cfg.profile.check().map_err(anyhow::Error::msg)?;
    let n = cfg.clients;
    let groups = match cfg.profile.group_size {
        0 => 0,
        size => n.div_ceil(size.min(n.max(1))),
    };
    let cfg = Arc::new(cfg);
    let (phase_tx, phase_rx) = watch::channel(Phase::Login);
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        base: Instant::now(),
        phase: phase_rx,
        window_start_us: AtomicU64::new(0),
        window_end_us: AtomicU64::new(u64::MAX),
        reload_order_us: AtomicU64::new(0),
        groups: (0..groups).map(|_| watch::channel(false).0).collect(),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        connect_errors: AtomicUsize::new(0),
    });
    let mut watch = ProcWatch::default();
    for (label, source) in &cfg.watch {
        watch.add(label.clone(), source.clone());
    }

    // Logging in.
    watch.start();
    let t_login = Instant::now();
    let permits = Arc::new(Semaphore::new(match cfg.concurrency {
        0 => Semaphore::MAX_PERMITS,
        c => c,
    }));
    let spawner = {
        let shared = shared.clone();
        let permits = permits.clone();
        let rate = cfg.connect_rate;
        tokio::spawn(async move {
            let mut bots = Vec::with_capacity(n);
            for i in 0..n {
                if rate > 0.0 {
                    sleep_until(t_login + Duration::from_secs_f64(i as f64 / rate)).await;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let bot = Bot::new(shared.clone(), i).with_permit(permit);
                bots.push(tokio::spawn(bot.play()));
            }
            bots
        })
    };
    let mut last_note = Instant::now();
    loop {
        let done = shared.ready.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed);
        if done >= n {
            break;
        }
        if cfg.progress && last_note.elapsed() >= Duration::from_secs(1) {
            last_note = Instant::now();
            eprintln!(
                "[{:>6.1}s] logged in and set up: {}/{n}, failed: {}",
                t_login.elapsed().as_secs_f64(),
                shared.ready.load(Ordering::Relaxed),
                shared.failed.load(Ordering::Relaxed)
            );
        }
        sleep(Duration::from_millis(20)).await;
    }
    let login_secs = t_login.elapsed().as_secs_f64();
    watch.sample();
    let login_costs = watch.costs(login_secs);
    if cfg.progress {
        eprintln!(
            "[{login_secs:>6.1}s] {} of {n} bots ready; acting",
            shared.ready.load(Ordering::Relaxed)
        );
    }

    // Acting: warm-up, then the window.
    let _ = phase_tx.send(Phase::Act);
    sleep(cfg.warmup).await;
    watch.start();
    let machine0 = procs::machine_ticks();
    let own0 = procs::own_cpu_s();
    let t0 = Instant::now();
    let start_us = shared.base.elapsed().as_micros() as u64;
    shared.window_end_us.store(
        start_us + cfg.duration.as_micros() as u64,
        Ordering::Relaxed,
    );
    shared.window_start_us.store(start_us, Ordering::Relaxed);
    let churn = cfg.churn.clone().map(|c| {
        let shared = shared.clone();
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(c.concurrency.max(1)));
            let t = Instant::now();
            let mut tasks = Vec::new();
            for k in 0..c.logins {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let bot = Bot::new(shared.clone(), n + k);
                tasks.push(tokio::spawn(async move {
                    let r = bot.login_and_quit().await;
                    drop(permit);
                    r
                }));
            }
            let mut reports = Vec::new();
            for t in tasks {
                if let Ok(r) = t.await {
                    reports.push(r);
                }
            }
            (t, reports)
        })
    });
    let mut reload_task = None;
    let window_end = t0 + cfg.duration;
    let mut next_fault: Vec<Instant> = cfg.faults.iter().map(|f| t0 + f.every).collect();
    let mut fault_records = Vec::new();
    let mut memory = Vec::new();
    let mut next_memory = cfg.memory_every.map(|_| t0);
    while Instant::now() < window_end {
        for (i, f) in cfg.faults.iter().enumerate() {
            if Instant::now() >= next_fault[i] {
                next_fault[i] += f.every;
                let at_s = crate::stats::round3(t0.elapsed().as_secs_f64());
                let (ok, detail) = do_fault(&f.action, &watch).await;
                if cfg.progress {
                    eprintln!(
                        "[{at_s:>8.1}s] {}: {}",
                        f.name,
                        if ok { "done" } else { &detail }
                    );
                }
                fault_records.push(report::FaultRecord {
                    name: f.name.clone(),
                    at_s,
                    ok,
                    detail,
                });
            }
        }
        if let (Some(every), Some(next)) = (cfg.memory_every, next_memory)
            && Instant::now() >= next
        {
            next_memory = Some(next + every);
            let at_s = crate::stats::round3(t0.elapsed().as_secs_f64());
            for (label, rss_mib) in watch.rss_now() {
                memory.push(report::MemorySample {
                    at_s,
                    label,
                    rss_mib,
                });
            }
        }
        if let Some(plan) = &cfg.reload
            && reload_task.is_none()
            && t0.elapsed() >= plan.at
        {
            shared
                .reload_order_us
                .store(shared.base.elapsed().as_micros() as u64, Ordering::Relaxed);
            let command = plan.command.clone();
            reload_task = Some(tokio::task::spawn_blocking(move || {
                std::process::Command::new(&command[0])
                    .args(&command[1..])
                    .output()
            }));
        }
        let next = (Instant::now() + SAMPLE_EVERY)
            .min(window_end)
            .min(next_fault.iter().copied().min().unwrap_or(window_end));
        sleep_until(next).await;
        watch.sample();
    }
    let secs = t0.elapsed().as_secs_f64();
    watch.sample();
    let costs = watch.costs(secs);
    let own = procs::own_cpu_s() - own0;
    let machine1 = procs::machine_ticks();
    let churn = match churn {
        Some(t) => Some(t.await.context("the login storm failed")?),
        None => None,
    };
    let reload_out = match reload_task {
        Some(t) => Some(t.await.context("the reload command task failed")?),
        None => None,
    };

    // Stopping: bots drain what is outstanding, then disconnect.
    let _ = phase_tx.send(Phase::Stop);
    let bots = spawner.await.context("the bot spawner failed")?;
    let mut reports: Vec<BotReport> = Vec::with_capacity(n);
    for b in bots {
        reports.push(b.await.context("a bot task failed")?);
    }
    let (floor, cold) = if cfg.floor {
        let rate = if cfg.profile.closed {
            0.0
        } else {
            cfg.profile.rate
        };
        let secs = cfg.duration.min(Duration::from_secs(10));
        // The pause a bot leaves between commands, capped so that the
        // hundred reads stay short.
        let gap = if rate > 0.0 {
            Duration::from_secs_f64((1.0 / rate).min(0.2))
        } else {
            Duration::ZERO
        };
        // A crowd's floor is a fan-out to as many listeners, as often.
        let listeners = cfg.profile.listen.then_some(n);
        let (floor, cold) = tokio::task::spawn_blocking(move || {
            let floor = match listeners {
                Some(n) => {
                    std::thread::spawn(move || crate::floor::fanout(n, rate * n as f64, secs))
                        .join()
                        .map_err(|_| std::io::Error::other("the fan-out floor panicked"))??
                }
                None => crate::floor::measure(rate, secs)?,
            };
            let cold = match listeners {
                Some(_) => Samples::default(),
                None => crate::floor::cold_memory(gap, 2 << 20, 100),
            };
            std::io::Result::Ok((floor, cold))
        })
        .await
        .context("the floor measurement failed")??;
        (floor.summary(), cold.summary())
    } else {
        (None, None)
    };
    let busy = match (machine0, machine1) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => 100.0 * (b1 - b0) as f64 / (t1 - t0) as f64,
        _ => f64::NAN,
    };
    Ok(report::build(report::Inputs {
        cfg: &cfg,
        bots: &reports,
        t_login,
        login_secs,
        login_costs,
        window_secs: secs,
        costs,
        own_cpu_s: own,
        machine_busy_pct: busy,
        churn: churn.as_ref().map(|(t, r)| (*t, r.as_slice())),
        reload: reload_out.map(|r| match r {
            Ok(out) => (
                out.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
                .trim()
                .to_string(),
            ),
            Err(e) => (false, e.to_string()),
        }),
        connect_errors: shared.connect_errors.load(Ordering::Relaxed),
        floor,
        cold_2mib: cold,
        faults: fault_records,
        memory,
    }))
}

/// Does one fault; whether it worked, and what it said.
async fn do_fault(action: &crate::config::FaultAction, watch: &ProcWatch) -> (bool, String) {
    match action {
        crate::config::FaultAction::Command(command) => {
            let command = command.clone();
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new(&command[0])
                    .args(&command[1..])
                    .output()
            })
            .await;
            match out {
                Ok(Ok(o)) => (
                    o.status.success(),
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                    .trim()
                    .to_string(),
                ),
                Ok(Err(e)) => (false, e.to_string()),
                Err(e) => (false, e.to_string()),
            }
        }
        crate::config::FaultAction::Kill(label) => match watch.pid_of(label) {
            // SAFETY: kill(2) with SIGKILL on a pid the game's runtime file names.
            Some(pid) => {
                let r = unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                (r == 0, format!("killed {label} pid {pid}"))
            }
            None => (false, format!("no {label} process to kill")),
        },
    }
}
