#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tavern_protocol::fuzz::ws_wire(data));
