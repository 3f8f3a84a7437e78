//! Build the hardware description (layer specs with memory images) from the model's data:
//! the resolved config, the CBTD-pruned layers and the LUT. File names and word layouts are
//! those of `spartus_model::pack` (docs/interfaces.md), so the images the generator writes
//! and the `$readmemh` names in the RTL always agree.

use crate::gate_unit::GateSpec;
use crate::layer::LayerSpec;
use crate::mac_array::ArraySpec;
use crate::sparse_pe::PeImages;
use spartus_model::config::{Resolved, Rounding};
use spartus_model::lut::Lut;
use spartus_model::pack;
use spartus_model::prune::PrunedLayer;

/// Layer specs for the accelerator, input layer first.
///
/// With G = `hardware.gate_lanes` lanes, every MAC array a is split into G sub-arrays (lane
/// g holds the PEs p with p mod G = g, in order of p), and `LayerSpec::arrays` lists them
/// lane-major: entry `g·A + a` is lane g of array a. The sub-arrays of one array receive the
/// same delta columns and run in lockstep; lane g's partial M chain runs through its A
/// sub-arrays into gate unit g.
pub fn layer_specs(resolved: &Resolved, pruned: &[PrunedLayer], lut: &Lut) -> Vec<LayerSpec> {
    let hw = &resolved.config.hardware;
    let (n, a_cnt, lanes) = (hw.pe_count, hw.arrays, hw.gate_lanes);
    let sig: Vec<u64> = lut.sig_table().iter().map(|&v| v as u16 as u64).collect();
    let tanh: Vec<u64> = lut.tanh_table().iter().map(|&v| v as u16 as u64).collect();
    resolved
        .layers
        .iter()
        .zip(pruned)
        .enumerate()
        .map(|(li, (dims, layer))| {
            let (i, h) = (dims.input_size, dims.hidden_size);
            let units = h / n;
            let arrays = (0..lanes * a_cnt)
                .map(|k| {
                    let (g, a) = (k / a_cnt, k % a_cnt);
                    let pes = (g..n)
                        .step_by(lanes)
                        .map(|p| {
                            let mut weights: Vec<u64> = pack::weight_words(layer, a_cnt, a, p)
                                .into_iter()
                                .map(u64::from)
                                .collect();
                            if weights.is_empty() {
                                weights.push(0);
                            }
                            let bias = if a == 0 {
                                (0..4)
                                    .map(|g| {
                                        let words = (0..units)
                                            .map(|ul| layer.bias[g * h + ul * n + p] as u32 as u64)
                                            .collect();
                                        (pack::bias_image_name(li, p, g), words)
                                    })
                                    .collect()
                            } else {
                                Vec::new()
                            };
                            PeImages {
                                weight_file: pack::weight_image_name(li, a, p),
                                weights,
                                index_bits: dims.index_bits,
                                bias,
                            }
                        })
                        .collect();
                    ArraySpec {
                        units,
                        k_x: dims.k_x,
                        k_h: dims.k_h,
                        nx: pack::array_columns(i, a_cnt, a),
                        nh: pack::array_columns(h, a_cnt, a),
                        chain_first: a == 0,
                        overlap: hw.overlap,
                        pes,
                    }
                })
                .collect();
            LayerSpec {
                input_size: i,
                hidden_size: h,
                lanes,
                overlap: hw.overlap,
                theta_x: resolved.theta_x_q as i64,
                theta_h: resolved.theta_h_q as i64,
                arrays,
                gate: GateSpec {
                    hidden: h / lanes,
                    wfrac: hw.wfrac,
                    rne: hw.rounding == Rounding::Rne,
                    lut_shift: hw.lut_shift,
                    sig: sig.clone(),
                    tanh: tanh.clone(),
                },
            }
        })
        .collect()
}
