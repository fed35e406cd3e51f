//! The machine's floor: a bare loopback TCP ping-pong (one thread echoes,
//! one sends 20 bytes and waits for them), paced like the bots. When a
//! machine idles between messages, waking a sleeping thread is most of a
//! round trip's time, and a virtual machine can take far longer to do it
//! than to run the code; a MUD command crosses four such hops (client,
//! portal, server, portal, client) where this crosses two. Measured in the
//! same run, the two figures compare.

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
    fn reading_memory_is_timed() {
        let s = super::cold_memory(std::time::Duration::from_millis(1), 1 << 20, 5);
        assert_eq!(s.len(), 5);
    }
}
