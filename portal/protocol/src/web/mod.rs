//! What the webclient's websocket carries, without the socket.

pub mod wire;
