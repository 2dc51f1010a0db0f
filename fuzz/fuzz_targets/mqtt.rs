//! MQTT packet parsers and the MQTToT connect decoder on arbitrary bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::proto::mqtt::{mqttot, packet, thrift};

fuzz_target!(|data: &[u8]| {
    if let packet::Frame::Header(h) = packet::header(data) {
        let body = data.get(h.header_len..).unwrap_or_default();
        let _ = packet::connect(body);
        let _ = packet::publish(h.flags, body, h.flags & 1 == 0);
        let _ = packet::subscribe(body, h.flags & 2 == 0, 16);
        let _ = packet::connack(body);
    }
    let _ = thrift::walk_struct(data, |_, _| {});
    let _ = mqttot::decode_connect(data, 1 << 16);
});
