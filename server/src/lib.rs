//! tavern-server
pub mod db;
#[cfg(test)]
mod testdb;
