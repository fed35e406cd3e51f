//! tavern-portal
pub mod telnet;
