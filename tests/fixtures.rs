//! The committed fixtures are exactly what the generator writes: change the
//! generator, run `cargo run --example gen_fixtures`, commit both.

#[path = "../fixtures/gen/net.rs"]
mod net;
#[path = "../fixtures/gen/plain.rs"]
mod plain;

#[test]
fn committed_wire_fixtures_match_the_generator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wire");
    for (name, bytes) in plain::pcap_files() {
        let committed = std::fs::read(dir.join(name)).unwrap_or_else(|e| {
            panic!("fixtures/wire/{name}: {e}; run `cargo run --example gen_fixtures`")
        });
        assert!(
            committed == bytes,
            "fixtures/wire/{name} differs from the generator; run `cargo run --example gen_fixtures`"
        );
    }
}

#[test]
fn the_fixture_canary_is_a_well_formed_generated_canary() {
    assert!(plainsight::evidence::canary::is_well_formed(plain::CANARY));
    assert!(plainsight::evidence::canary::is_well_formed(plain::ABSENT));
}
