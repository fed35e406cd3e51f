//! The public keys an account logs in with over SSH (`sshkey`), kept in the
//! account's `ssh_keys` attribute. The portal checked that the client holds
//! the private half; here a key is only compared with the account's list.

use serde::{Deserialize, Serialize};
use ssh_key::{HashAlg, PublicKey};

use crate::model::object::Account;

/// The account attribute holding its keys.
pub const SSH_KEYS_ATTR: &str = "ssh_keys";
/// The most keys one account may have.
pub const MAX_SSH_KEYS: usize = 16;

/// One key of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    /// The key in OpenSSH's form without a comment: `ssh-ed25519 AAAA…`.
    pub key: String,
    /// The comment it came with (often `user@host`), to tell keys apart.
    #[serde(default)]
    pub comment: String,
    /// Its SHA256 fingerprint, as `ssh-keygen -l` shows it.
    pub fingerprint: String,
}

/// Why a line is not a public key, in words for the player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// A private key was pasted.
    #[error(
        "That is a |rprivate|n key: never paste it anywhere, and make a new one if others \
         could have seen it. Paste the public key: the one-line .pub file."
    )]
    Private,
    /// Not a key.
    #[error("That is not an OpenSSH public key (it looks like: ssh-ed25519 AAAAC3Nza… you@host).")]
    Malformed,
}

/// Reads one line of an `authorized_keys`/`.pub` file.
pub fn parse(line: &str) -> Result<SshKey, KeyProblem> {
    let line = line.trim();
    if line.contains("PRIVATE KEY") {
        return Err(KeyProblem::Private);
    }
    let key = PublicKey::from_openssh(line).map_err(|_| KeyProblem::Malformed)?;
    let comment: String = key
        .comment()
        .as_bytes()
        .iter()
        .map(|&b| b as char)
        .filter(|c| !c.is_control() && *c != '|')
        .take(80)
        .collect();
    let mut bare = key.clone();
    bare.set_comment("");
    let text = bare.to_openssh().map_err(|_| KeyProblem::Malformed)?;
    Ok(SshKey {
        key: text.trim().to_string(),
        comment,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
    })
}

/// The keys an account has.
pub fn keys_of(account: &Account) -> Vec<SshKey> {
    account.attr(SSH_KEYS_ATTR).unwrap_or_default()
}

/// Whether `key` (OpenSSH's form, as the portal sends it) is one of the account's.
pub fn has_key(account: &Account, key: &str) -> bool {
    let Ok(offered) = parse(key) else {
        return false;
    };
    keys_of(account).iter().any(|k| k.key == offered.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with ssh-keygen for these tests; only the public halves are here.
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB9JqQ9J/TzqLbPWkwe5MWZ9A48Pg0Y/IdYqBI+9VeMb alice@home";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDwBVn+STmEff1JPADMq7DEwxFnciXNCTlb6+0U2rLAD5EcuDoGV7MiLD+AJKpHFcFXPNrux1+aUjXwbkVwRqUSUDTnC/gnTIbHk5PRa2EaNVsDMA6+vGy6bSbX5IXUPIIwyfX89bKazlTp28iZkVpVPxIx7Pj9ih7+yaWNUn7iLwij6bX3lque/AZPKvlQw6qBqJMTvYDpu80A7pSJtn4ikm9XMCVWj6WAk9qYqvzqSe822RVTM3VxbE5xnyYZbuB/+4cEWXiUCaHM5hKRzed8vnt7EvE4xrvJQHLOIjgxAEJBJUnc5bmJinscKhx4ix3B3kU3xBG0KhURETkywyqr bob@work";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMJ0cqzcMMqfK7CWfM+E04gXdwp5ercysCR1RjhJtDh95ZzNCDvU13mmDmHbA4X4VCrTcnPfyIqBXRfv+YmR7+E=";

    #[test]
    fn a_public_key_line_is_read_with_its_comment_and_fingerprint() {
        let k = parse(&format!("  {ED25519}\n")).unwrap();
        assert!(k.key.starts_with("ssh-ed25519 AAAAC3"));
        assert!(!k.key.contains("alice"), "the comment is kept apart");
        assert_eq!(k.comment, "alice@home");
        // As `ssh-keygen -lf` shows it.
        assert_eq!(
            k.fingerprint,
            "SHA256:sBgYsgNGPb1ASXwFtfo429oF1Bq+sbGnTQp5n1yTj8k"
        );
        // The same key with another comment is the same key.
        let other = parse(&ED25519.replace("alice@home", "laptop")).unwrap();
        assert_eq!(other.key, k.key);
        // The kinds of keys people have: RSA and ECDSA too; no comment is fine.
        assert_eq!(parse(RSA).unwrap().comment, "bob@work");
        assert!(
            parse(ECDSA)
                .unwrap()
                .key
                .starts_with("ecdsa-sha2-nistp256 ")
        );
        assert_eq!(parse(ECDSA).unwrap().comment, "");
    }

    #[test]
    fn private_keys_and_junk_are_refused() {
        assert_eq!(
            parse("-----BEGIN OPENSSH PRIVATE KEY-----"),
            Err(KeyProblem::Private)
        );
        for junk in [
            "",
            "ssh-ed25519",
            "ssh-ed25519 AAAA",
            "hello world",
            "ssh-rsa !!!",
        ] {
            assert_eq!(parse(junk), Err(KeyProblem::Malformed), "{junk:?}");
        }
    }

    #[test]
    fn an_account_has_the_keys_in_its_attribute() {
        let mut a = Account::new(1, "alice");
        assert!(!has_key(&a, ED25519));
        a.set_attr(SSH_KEYS_ATTR, vec![parse(ED25519).unwrap()]);
        let bare = parse(ED25519).unwrap().key;
        assert!(has_key(&a, &bare));
        assert!(!has_key(&a, "ssh-ed25519 garbage"));
    }
}
