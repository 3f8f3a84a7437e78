//! `gen vectors <config> [--weights F] [--inputs X.npy] [--out-dir hdl_out]`: golden test
//! vectors, memory images and the predicted cycles, written atomically to
//! `<out-dir>/<name>/` (formats: `docs/interfaces.md`).
//!
//! Files: `config.toml`, `vectors/{params.txt, x_q.hex, h_q.hex, x_q.npy, h_q.npy, nnz.npy}`,
//! `mem/*.hex`, `reports/cycles.json`, and `manifest.json` with the resolved config, predicted
//! cycles, delta and weight sparsity. [`add_vectors`] adds them to an [`OutputDir`] so that
//! other subcommands (emit) reuse it; [`write_vectors`] is the whole subcommand.

use crate::artifacts::{sha256_hex, OutputDir};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use spartus_model::design::{Design, InputSource, WeightSource};
use spartus_model::npy;
use spartus_model::pack::hex_lines;
use std::path::{Path, PathBuf};

/// Read float inputs `[T, I]` from a 2-D `.npy` file (any float or integer dtype).
pub fn load_inputs(path: &Path) -> Result<Vec<Vec<f64>>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read inputs {}", path.display()))?;
    let (shape, data) = npy::read_f64_2d(&bytes)
        .with_context(|| format!("inputs {}: not a 2-D [T, I] array", path.display()))?;
    let (t, i) = (shape[0], shape[1]);
    if t == 0 || i == 0 {
        bail!("inputs {}: shape {shape:?} is empty", path.display());
    }
    Ok(data.chunks(i).map(|c| c.to_vec()).collect())
}

/// `vectors/params.txt` (`key value` lines; readers ignore unknown keys).
pub fn params_txt(d: &Design) -> String {
    let r = &d.resolved;
    let last = r.layers.last().expect("at least one layer");
    let mut s = String::new();
    let mut kv = |k: &str, v: String| s.push_str(&format!("{k} {v}\n"));
    kv("timesteps", d.timesteps().to_string());
    kv("input_size", r.i().to_string());
    kv("output_size", last.hidden_size.to_string());
    kv("layers", r.layers.len().to_string());
    kv("pe_count", r.n().to_string());
    kv("arrays", r.a().to_string());
    kv("theta_x_q", r.theta_x_q.to_string());
    kv("theta_h_q", r.theta_h_q.to_string());
    kv("predicted_total_cycles", d.total_cycles().to_string());
    s
}

/// Predicted cycles (`reports/cycles.json`).
pub fn cycles_json(d: &Design) -> Value {
    let layers: Vec<Value> = (0..d.traces.len())
        .map(|l| {
            let p = &d.cycle_params[l];
            let tr = &d.traces[l];
            json!({
                "layer": l,
                "k_x": p.k_x,
                "k_h": p.k_h,
                "t_upd": p.t_upd,
                "total_cycles": d.layer_total_cycles(l),
                "cycles": d.cycles[l],
                "nnz_x": tr.nnz_x,
                "nnz_h": tr.nnz_h,
            })
        })
        .collect();
    json!({
        "model": if d.overlap.is_some() {
            "overlapped schedule: cycles(t) = I + 2 (input, flush; the Δh backlog drains) + MAC phase (rest of the backlog + Δx) + H/G + 14, simulated cycle by cycle (spartus_model::cycles::schedule_cycles), summed over layers"
        } else {
            "docs/arithmetic.md §6: cycles(t) = max_a (K_x·nnz_x(a,t) + K_h·nnz_h(a,t)) + T_upd, summed over layers"
        },
        "timesteps": d.timesteps(),
        "total_cycles": d.total_cycles(),
        "step_cycles": d.step_cycles(),
        "layers": layers,
        "figures": d.figures(),
    })
}

/// Extra manifest fields: resolved config, predicted cycles, delta and weight sparsity, and
/// where weights and inputs came from.
pub fn manifest_extra(
    d: &Design,
    weights_sha256: Option<&str>,
    inputs_sha256: Option<&str>,
) -> Result<serde_json::Map<String, Value>> {
    let mut m = serde_json::Map::new();
    m.insert("config".into(), serde_json::to_value(&d.resolved)?);
    let per_layer: Vec<u64> = (0..d.traces.len())
        .map(|l| d.layer_total_cycles(l))
        .collect();
    m.insert(
        "predicted_cycles".into(),
        json!({
            "total": d.total_cycles(),
            "per_layer": per_layer,
            "t_upd": d.cycle_params.iter().map(|p| p.t_upd).collect::<Vec<_>>(),
        }),
    );
    let delta: Vec<Value> = (0..d.traces.len())
        .map(|l| {
            let (x, h) = d.delta_sparsity(l);
            json!({"x": x, "h": h})
        })
        .collect();
    m.insert("delta_sparsity".into(), Value::Array(delta));
    let weight: Vec<Value> = d
        .resolved
        .layers
        .iter()
        .enumerate()
        .map(|(l, dims)| {
            let (x, h) = d.weight_sparsity(l);
            json!({"x_cbtd": dims.sparsity_x, "h_cbtd": dims.sparsity_h, "x_zeros": x, "h_zeros": h})
        })
        .collect();
    m.insert("weight_sparsity".into(), Value::Array(weight));
    let src = |kind: &str, sha: Option<&str>| match sha {
        Some(s) => json!({"source": kind, "sha256": s}),
        None => json!({"source": "random", "seed": d.resolved.config.seed}),
    };
    debug_assert_eq!(
        weights_sha256.is_some(),
        d.weight_source == WeightSource::Given
    );
    debug_assert_eq!(
        inputs_sha256.is_some(),
        d.input_source == InputSource::Given
    );
    m.insert("weights".into(), src("file", weights_sha256));
    m.insert("inputs".into(), src("file", inputs_sha256));
    m.insert("timesteps".into(), json!(d.timesteps()));
    Ok(m)
}

/// Add `config.toml`, `vectors/*`, `mem/*.hex` and `reports/cycles.json` of a design.
pub fn add_vectors(out: &mut OutputDir, d: &Design) -> Result<()> {
    let r = &d.resolved;
    out.add("config.toml", r.config.to_toml())?;
    out.add("vectors/params.txt", params_txt(d))?;
    let t = d.timesteps();
    let i = r.i();
    let h = d.output().first().map_or(0, |row| row.len());
    let x_flat: Vec<i16> = d.x_q.iter().flatten().copied().collect();
    let h_flat: Vec<i16> = d.output().iter().flatten().copied().collect();
    out.add(
        "vectors/x_q.hex",
        hex_lines(x_flat.iter().map(|&v| v as u16 as u64), 4),
    )?;
    out.add(
        "vectors/h_q.hex",
        hex_lines(h_flat.iter().map(|&v| v as u16 as u64), 4),
    )?;
    out.add("vectors/x_q.npy", npy::write_i16(&[t, i], &x_flat))?;
    out.add("vectors/h_q.npy", npy::write_i16(&[t, h], &h_flat))?;
    let mut nnz = Vec::with_capacity(d.traces.len() * t * 2);
    for tr in &d.traces {
        for (&x, &hh) in tr.nnz_x.iter().zip(&tr.nnz_h) {
            nnz.push(x as i32);
            nnz.push(hh as i32);
        }
    }
    out.add(
        "vectors/nnz.npy",
        npy::write_i32(&[d.traces.len(), t, 2], &nnz),
    )?;
    for (name, text) in d.images() {
        out.add(&format!("mem/{name}"), text)?;
    }
    let mut cj = serde_json::to_string_pretty(&cycles_json(d))?;
    cj.push('\n');
    out.add("reports/cycles.json", cj)?;
    Ok(())
}

/// Options of `gen vectors`.
#[derive(Debug, Clone)]
pub struct VectorsOptions {
    /// Config file.
    pub config: PathBuf,
    /// Weight file (`.safetensors` / `.npz`); None ⇒ seeded random.
    pub weights: Option<PathBuf>,
    /// Input file (`.npy`, [T, I]); None ⇒ the config's stimulus.
    pub inputs: Option<PathBuf>,
    /// Parent of the output folder (default `hdl_out`).
    pub out_dir: PathBuf,
}

/// Build the output folder contents for `gen vectors` (nothing is written).
pub fn build(opts: &VectorsOptions) -> Result<(Design, OutputDir)> {
    let resolved = crate::load_config(&opts.config)?;
    let design = crate::prepare_design(&resolved, opts.weights.as_deref(), opts.inputs.as_deref())?;
    let file_sha = |p: &Option<PathBuf>| -> Result<Option<String>> {
        p.as_ref()
            .map(|p| {
                std::fs::read(p)
                    .map(|b| sha256_hex(&b))
                    .with_context(|| format!("cannot read {}", p.display()))
            })
            .transpose()
    };
    let mut out = OutputDir::new();
    add_vectors(&mut out, &design)?;
    out.extra = manifest_extra(
        &design,
        file_sha(&opts.weights)?.as_deref(),
        file_sha(&opts.inputs)?.as_deref(),
    )?;
    Ok((design, out))
}

/// The whole `gen vectors` subcommand: returns the folder written.
pub fn write_vectors(opts: &VectorsOptions) -> Result<(Design, PathBuf)> {
    let (design, out) = build(opts)?;
    let dest = opts.out_dir.join(&design.resolved.config.name);
    out.commit(&dest)?;
    Ok((design, dest))
}

/// One-paragraph summary printed after `gen vectors`.
pub fn summary(d: &Design, dest: &Path) -> String {
    let mut s = format!(
        "wrote {} ({} steps, {} layer(s)); predicted cycles: total {}, per step {:.1}\n",
        dest.display(),
        d.timesteps(),
        d.traces.len(),
        d.total_cycles(),
        d.total_cycles() as f64 / d.timesteps() as f64
    );
    for l in 0..d.traces.len() {
        let (dx, dh) = d.delta_sparsity(l);
        let (wx, wh) = d.weight_sparsity(l);
        s.push_str(&format!(
            "layer {l}: {} cycles; delta sparsity x {:.1} %, h {:.1} %; weight zeros x {:.1} %, h {:.1} %\n",
            d.layer_total_cycles(l),
            100.0 * dx,
            100.0 * dh,
            100.0 * wx,
            100.0 * wh
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const TINY: &str = include_str!("../../../configs/tiny.toml");

    fn opts(dir: &Path, config_text: &str) -> VectorsOptions {
        let config = dir.join("cfg.toml");
        fs::write(&config, config_text).unwrap();
        VectorsOptions {
            config,
            weights: None,
            inputs: None,
            out_dir: dir.join("hdl_out"),
        }
    }

    fn read_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in fs::read_dir(&p).unwrap() {
                let e = e.unwrap().path();
                if e.is_dir() {
                    stack.push(e);
                } else {
                    out.push((
                        e.strip_prefix(root).unwrap().display().to_string(),
                        fs::read(&e).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn writes_the_documented_files_deterministically() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (d, dest_a) = write_vectors(&opts(a.path(), TINY)).unwrap();
        let (_, dest_b) = write_vectors(&opts(b.path(), TINY)).unwrap();
        assert_eq!(dest_a, a.path().join("hdl_out/tiny"));
        let ta = read_tree(&dest_a);
        assert_eq!(
            ta,
            read_tree(&dest_b),
            "same input must give byte-identical output"
        );
        let names: Vec<&str> = ta.iter().map(|(n, _)| n.as_str()).collect();
        for f in [
            "config.toml",
            "manifest.json",
            "vectors/params.txt",
            "vectors/x_q.hex",
            "vectors/h_q.hex",
            "vectors/x_q.npy",
            "vectors/h_q.npy",
            "vectors/nnz.npy",
            "reports/cycles.json",
            "mem/sig.hex",
            "mem/tanh.hex",
            "mem/l0_a0_p1_w.hex",
            "mem/l0_p1_b3.hex",
        ] {
            assert!(names.contains(&f), "{f} missing from {names:?}");
        }
        assert!(crate::artifacts::check_manifest(&dest_a)
            .unwrap()
            .is_empty());
        let get = |n: &str| {
            String::from_utf8(ta.iter().find(|(k, _)| k == n).unwrap().1.clone()).unwrap()
        };
        // tiny: T = 200, I = 4, H = 8.
        assert_eq!(get("vectors/x_q.hex").lines().count(), 200 * 4);
        assert_eq!(get("vectors/h_q.hex").lines().count(), 200 * 8);
        assert!(get("vectors/h_q.hex").lines().all(|l| l.len() == 4));
        let p = get("vectors/params.txt");
        assert!(
            p.starts_with("timesteps 200\ninput_size 4\noutput_size 8\nlayers 1\n"),
            "{p}"
        );
        // h_q.hex agrees with the golden trace.
        let first: Vec<i16> = get("vectors/h_q.hex")
            .lines()
            .take(8)
            .map(|l| u16::from_str_radix(l, 16).unwrap() as i16)
            .collect();
        assert_eq!(first, d.output()[0]);
        // npy round trip through the reader.
        let (shape, _) =
            npy::read_f64_2d(&fs::read(dest_a.join("vectors/x_q.npy")).unwrap()).unwrap();
        assert_eq!(shape, vec![200, 4]);
        let m: Value = serde_json::from_str(&get("manifest.json")).unwrap();
        assert_eq!(m["predicted_cycles"]["total"], json!(d.total_cycles()));
        assert_eq!(m["config"]["config"]["name"], json!("tiny"));
        assert_eq!(m["weights"]["source"], json!("random"));
        let c: Value = serde_json::from_str(&get("reports/cycles.json")).unwrap();
        assert_eq!(c["total_cycles"], json!(d.total_cycles()));
        // the config written back resolves to the same config
        let again = spartus_model::config::load_str(&get("config.toml")).unwrap();
        assert_eq!(again, d.resolved);
    }

    #[test]
    fn inputs_from_npy_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), TINY);
        let x: Vec<f64> = (0..12).map(|v| v as f64 / 8.0 - 0.5).collect();
        let p = dir.path().join("x.npy");
        fs::write(&p, npy::write_f64(&[3, 4], &x)).unwrap();
        o.inputs = Some(p);
        let (d, dest) = write_vectors(&o).unwrap();
        assert_eq!(d.timesteps(), 3);
        assert_eq!(d.x_q[0], vec![-128, -96, -64, -32]);
        let m: Value =
            serde_json::from_slice(&fs::read(dest.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["inputs"]["source"], json!("file"));
    }

    #[test]
    fn bad_input_fails_cleanly_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // wrong input width
        let mut o = opts(dir.path(), TINY);
        let p = dir.path().join("x.npy");
        fs::write(&p, npy::write_f64(&[2, 3], &[0.0; 6])).unwrap();
        o.inputs = Some(p);
        let e = format!("{:#}", write_vectors(&o).unwrap_err());
        assert!(
            e.contains("frame 0 has 3 elements, model.input_size is 4"),
            "{e}"
        );
        // missing weight file
        let mut o = opts(dir.path(), TINY);
        o.weights = Some(dir.path().join("nope.safetensors"));
        let e = format!("{:#}", write_vectors(&o).unwrap_err());
        assert!(e.contains("nope.safetensors"), "{e}");
        // bad config
        let o = opts(dir.path(), &TINY.replace("pe_count = 2", "pe_count = 3"));
        let e = format!("{:#}", write_vectors(&o).unwrap_err());
        assert!(
            e.contains("hardware.pe_count = 3 must divide model.hidden_size = 8"),
            "{e}"
        );
        assert!(
            !dir.path().join("hdl_out").exists(),
            "nothing may be written on error"
        );
    }

    #[test]
    fn wrong_weight_shape_names_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), TINY);
        let r = spartus_model::config::load_str(&TINY.replace("input_size = 4", "input_size = 5"))
            .unwrap();
        let net = spartus_model::design::random_float_net(&r);
        let w = dir.path().join("w.safetensors");
        fs::write(&w, spartus_model::weights::save_safetensors(&net)).unwrap();
        o.weights = Some(w);
        let e = format!("{:#}", write_vectors(&o).unwrap_err());
        assert!(e.contains("weight_ih_l0"), "{e}");
        assert!(!dir.path().join("hdl_out").exists());
    }
}
