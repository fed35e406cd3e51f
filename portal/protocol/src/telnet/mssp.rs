//! MSSP (MUD Server Status Protocol): what crawlers and MUD lists read.

/// Starts a variable's name.
pub const VAR: u8 = 1;
/// Starts a value.
pub const VAL: u8 = 2;

/// `IAC SB MSSP (VAR name VAL value)* IAC SE`, with IAC bytes doubled.
pub fn encode(fields: &[(String, String)]) -> Vec<u8> {
    use super::{IAC, Opt, SB, SE};
    let mut out = vec![IAC, SB, Opt::MSSP];
    let push = |s: &str, out: &mut Vec<u8>| {
        for b in s.bytes().filter(|&b| b > VAL) {
            out.push(b);
            if b == IAC {
                out.push(IAC);
            }
        }
    };
    for (k, v) in fields {
        out.push(VAR);
        push(k, &mut out);
        out.push(VAL);
        push(v, &mut out);
    }
    out.extend_from_slice(&[IAC, SE]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_framed_byte_exactly() {
        let out = encode(&[
            ("NAME".into(), "Tavern".into()),
            ("PLAYERS".into(), "3".into()),
        ]);
        let mut want = vec![255, 250, 70, VAR];
        want.extend_from_slice(b"NAME");
        want.push(VAL);
        want.extend_from_slice(b"Tavern");
        want.push(VAR);
        want.extend_from_slice(b"PLAYERS");
        want.push(VAL);
        want.push(b'3');
        want.extend_from_slice(&[255, 240]);
        assert_eq!(out, want);
    }
}
