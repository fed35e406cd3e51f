//! The machine's floor: a bare loopback TCP ping-pong (one thread echoes,
//! one sends 20 bytes and waits for them), paced like the bots. When a
//! machine idles between messages, waking a sleeping thread is most of a
//! round trip's time, and a virtual machine can take far longer to do it
//! than to run the code; a MUD command crosses four such hops (client,
//! portal, server, portal, client) where this crosses two. Measured in the
//! same run, the two figures compare. For a crowd, the floor is a bare
//! fan-out: one line written to every listener's connection in turn.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::stats::Samples;

/// Round trips of a bare ping-pong at `rate` a second (0: back to back) for `duration`.
pub fn measure(rate: f64, duration: Duration) -> std::io::Result<Samples> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            s.write_all(&buf[..n])?;
        }
    });
    let mut c = TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    let mut samples = Samples::default();
    let mut rng = rand::rng();
    let end = Instant::now() + duration;
    let msg = [b'x'; 20];
    let mut buf = [0u8; 64];
    while Instant::now() < end {
        let t = Instant::now();
        c.write_all(&msg)?;
        let mut got = 0;
        while got < msg.len() {
            let n = c.read(&mut buf[got..])?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        samples.add(t.elapsed());
        if rate > 0.0 {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            std::thread::sleep(Duration::from_secs_f64((-u.ln() / rate).min(1.0)));
        }
    }
    drop(c);
    let _ = echo.join();
    Ok(samples)
}

/// The floor of a crowd: one thread writes a line to `n` loopback
/// connections in turn, `rate` lines a second (what a portal must do when a
/// room hears a line, with nothing else), and one task per connection on a
/// single-threaded runtime reads them (what the bots do). Each sample is the
/// time from just before the first write of a line to its reading.
pub fn fanout(n: usize, rate: f64, duration: Duration) -> std::io::Result<Samples> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let base = Instant::now();
    let (accepted, all_accepted) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut socks = Vec::with_capacity(n);
        for _ in 0..n {
            let (s, _) = listener.accept()?;
            s.set_nodelay(true)?;
            socks.push(s);
        }
        let _ = accepted.send(());
        let end = Instant::now() + duration;
        let mut rng = rand::rng();
        while Instant::now() < end {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            std::thread::sleep(Duration::from_secs_f64((-u.ln() / rate.max(0.1)).min(1.0)));
            let line = format!("Bot says, \"{}\"\r\n", base.elapsed().as_micros());
            for s in &mut socks {
                s.write_all(line.as_bytes())?;
            }
        }
        Ok(())
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let samples = rt.block_on(async move {
        use tokio::io::AsyncReadExt;
        let mut readers = Vec::with_capacity(n);
        for _ in 0..n {
            let mut s = tokio::net::TcpStream::connect(addr).await?;
            readers.push(tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut buf = [0u8; 1024];
                let mut text = Vec::new();
                loop {
                    let k = s.read(&mut buf).await?;
                    if k == 0 {
                        return std::io::Result::Ok(samples);
                    }
                    let now = base.elapsed().as_micros() as u64;
                    text.extend_from_slice(&buf[..k]);
                    while let Some(nl) = memchr::memchr(b'\n', &text) {
                        let sent: Option<u64> = std::str::from_utf8(&text[..nl])
                            .ok()
                            .and_then(|l| l.split('"').nth(1))
                            .and_then(|d| d.parse().ok());
                        if let Some(us) = sent {
                            samples.add(Duration::from_micros(now.saturating_sub(us)));
                        }
                        text.drain(..=nl);
                    }
                }
            }));
        }
        let _ = tokio::task::spawn_blocking(move || all_accepted.recv()).await;
        let mut all = Samples::default();
        for r in readers {
            if let Ok(Ok(s)) = r.await {
                all.merge(&s);
            }
        }
        std::io::Result::Ok(all)
    })?;
    writer
        .join()
        .map_err(|_| std::io::Error::other("the fan-out writer panicked"))??;
    Ok(samples)
}

/// How long reading `bytes` of memory takes right after sleeping `gap`
/// (caches cold, as after a player's pause) — the other half of the floor:
/// a command touches its code and data in three processes.
pub fn cold_memory(gap: Duration, bytes: usize, rounds: usize) -> Samples {
    let mem = vec![1u8; bytes];
    let mut samples = Samples::default();
    let mut sum = 0u64;
    for _ in 0..rounds {
        if !gap.is_zero() {
            std::thread::sleep(gap);
        }
        let t = Instant::now();
        for line in mem.chunks(64) {
            sum = sum.wrapping_add(std::hint::black_box(line[0]) as u64);
        }
        samples.add(t.elapsed());
    }
    std::hint::black_box(sum);
    samples
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_ping_pong_is_timed() {
        let s = super::measure(200.0, std::time::Duration::from_millis(100)).unwrap();
        assert!(s.len() > 2, "{} samples", s.len());
        let sum = s.summary().unwrap();
        assert!(sum.p50_ms > 0.0 && sum.max_ms < 1000.0, "{sum:?}");
    }

    #[test]
    fn a_fan_out_reaches_every_reader() {
        let s = super::fanout(20, 50.0, std::time::Duration::from_millis(300)).unwrap();
        assert!(
            s.len() >= 20 && s.len().is_multiple_of(20),
            "{} samples",
            s.len()
        );
    }

    #[test]
    fn reading_memory_is_timed() {
        let s = super::cold_memory(std::time::Duration::from_millis(1), 1 << 20, 5);
        assert_eq!(s.len(), 5);
    }
}
