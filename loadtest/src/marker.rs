//! Markers: `ltm<bot>-<seq>-<micros>`, unique per action, carrying when it was
//! sent (microseconds since the run began), so that any bot hearing one —
//! the one that sent it, or another in the same room — knows how long it took.

/// One marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// The bot that sent it.
    pub bot: u32,
    /// That bot's action number.
    pub seq: u64,
    /// When it was sent, in microseconds since the run began.
    pub sent_us: u64,
}

const PREFIX: &[u8] = b"ltm";

impl std::fmt::Display for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ltm{}-{}-{}", self.bot, self.seq, self.sent_us)
    }
}

/// Every marker in a line of text, in order.
pub fn find_all(line: &[u8], out: &mut Vec<Marker>) {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&line[from..], PREFIX) {
        let start = from + i + PREFIX.len();
        from = start;
        let mut nums = [0u64; 3];
        let mut pos = start;
        let mut ok = true;
        for (k, n) in nums.iter_mut().enumerate() {
            let digits = line[pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 || digits > 19 {
                ok = false;
                break;
            }
            *n = std::str::from_utf8(&line[pos..pos + digits])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX);
            pos += digits;
            if k < 2 {
                if line.get(pos) != Some(&b'-') {
                    ok = false;
                    break;
                }
                pos += 1;
            }
        }
        if ok && nums[0] <= u32::MAX as u64 && nums[2] != u64::MAX {
            out.push(Marker {
                bot: nums[0] as u32,
                seq: nums[1],
                sent_us: nums[2],
            });
            from = pos;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_wherever_they_are_in_a_line() {
        let m = Marker {
            bot: 12,
            seq: 5,
            sent_us: 987654,
        };
        assert_eq!(m.to_string(), "ltm12-5-987654");
        let mut out = Vec::new();
        find_all(
            b"Echo returns: (('ltm12-5-987654',), {}) and Bot says, \"ltm3-1-2\".",
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                m,
                Marker {
                    bot: 3,
                    seq: 1,
                    sent_us: 2
                }
            ]
        );
        out.clear();
        find_all(b"ltm ltm1- ltm1-2 ltm1-2- ltmx ltm1-2-3", &mut out);
        assert_eq!(
            out,
            vec![Marker {
                bot: 1,
                seq: 2,
                sent_us: 3
            }]
        );
    }
}
