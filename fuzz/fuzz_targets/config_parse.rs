//! Config parsing and validation: never panics; a config that resolves must survive a
//! to_toml / from_toml round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spartus_model::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Config::from_toml(text).and_then(|c| c.resolve()) {
        let again = Config::from_toml(&r.config.to_toml()).expect("re-parse of to_toml output");
        assert_eq!(again, r.config);
        again.resolve().expect("re-resolve of to_toml output");
    }
});
