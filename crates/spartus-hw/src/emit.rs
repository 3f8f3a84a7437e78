//! Verilog emission: rust-hdl's `generate_verilog`, then renaming the `top` module hierarchy
//! after the design (`spartus_<name>`) and adding a header. rust-hdl names the root module
//! `top` and every child module by its path (`top$layers$0$...`); only those names change.

use crate::accelerator::Accelerator;
use crate::layer::LayerSpec;
use rust_hdl::prelude::*;

/// Generated RTL.
#[derive(Debug, Clone)]
pub struct Rtl {
    /// Top module name.
    pub top: String,
    /// The whole design as one Verilog text.
    pub verilog: String,
}

/// Rename rust-hdl's `top` hierarchy to `top_name`.
pub fn rename_top(verilog: &str, top_name: &str) -> String {
    let mut out = String::with_capacity(verilog.len() + verilog.len() / 16);
    let bytes = verilog.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b'$');
        if at_word_start && verilog[i..].starts_with("top") {
            let next = bytes.get(i + 3).copied();
            let is_top_ident = match next {
                Some(c) => !(c.is_ascii_alphanumeric() || c == b'_'),
                None => true,
            };
            if is_top_ident {
                out.push_str(top_name);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// Build the accelerator and emit its Verilog.
pub fn emit(specs: &[LayerSpec], top_name: &str, header: &str) -> Rtl {
    let mut uut = Accelerator::new(specs);
    uut.connect_all();
    let v = generate_verilog(&uut);
    let mut verilog = String::new();
    for line in header.lines() {
        verilog.push_str("// ");
        verilog.push_str(line);
        verilog.push('\n');
    }
    verilog.push_str(&rename_top(&v, top_name));
    Rtl {
        top: top_name.to_string(),
        verilog,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_only_touches_the_top_hierarchy() {
        let v = "module top(clock);\nmodule top$layers$0(x);\ntop$layers$0 layers$0(.x(y));\nreg stop; wire top_x; // top\n";
        let r = rename_top(v, "spartus_tiny");
        assert_eq!(
            r,
            "module spartus_tiny(clock);\nmodule spartus_tiny$layers$0(x);\nspartus_tiny$layers$0 layers$0(.x(y));\nreg stop; wire top_x; // spartus_tiny\n"
        );
    }
}
