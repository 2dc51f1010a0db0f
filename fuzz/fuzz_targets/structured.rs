//! The protobuf and Thrift walkers on arbitrary bytes: never panic, stay
//! within their bounds, and return only slices of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::codec::structured::{Bounds, StringField, string_fields};
use plainsight::codec::{protobuf, thrift};

fn check(data: &[u8], fields: &[StringField<'_>], bounds: &Bounds) {
    assert!(fields.len() <= bounds.max_strings);
    let range = data.as_ptr_range();
    for f in fields {
        let r = f.value.as_ptr_range();
        assert!(range.start <= r.start && r.end <= range.end, "not a slice of the input");
        assert!(f.path.split('.').count() <= bounds.max_depth + 1, "{}", f.path);
    }
}

fuzz_target!(|data: &[u8]| {
    let bounds = Bounds {
        max_depth: 6,
        max_fields: 512,
        max_strings: 64,
    };
    if let Some(f) = protobuf::strings(data, &bounds) {
        check(data, &f, &bounds);
    }
    for p in [thrift::Protocol::Binary, thrift::Protocol::Compact] {
        if let Some(f) = thrift::strings(data, p, &bounds) {
            check(data, &f, &bounds);
        }
    }
    if let Some((_, f)) = string_fields(data, None, &bounds) {
        check(data, &f, &bounds);
    }
});
