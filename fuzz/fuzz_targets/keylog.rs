//! NSS key log parsing: never panics, never echoes a secret in a warning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::provenance::KeySource;
use plainsight::secrets::SecretStore;
use plainsight::secrets::keylog;

fuzz_target!(|data: &[u8]| {
    let mut warnings = Vec::new();
    let entries = keylog::parse(data, &mut warnings);
    for e in &entries {
        let _ = format!("{e:?}");
    }
    let mut store = SecretStore::default();
    let _ = store.add_keylog(data, KeySource::Capture);
    let _ = format!("{store:?}");
});
