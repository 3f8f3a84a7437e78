//! `Design::prepare`: shapes checked against the config, determinism, consistency of the
//! pieces (images unpack to the golden net, cycles follow the traces).

use spartus_model::config::load_str;
use spartus_model::cycles::CycleParams;
use spartus_model::design::{
    check_float_net, random_float_net, Design, DesignError, InputSource, WeightSource,
};
use spartus_model::golden::QLayer;
use spartus_model::pack::{unpack_layer, LayerShape};
use std::collections::BTreeMap;

const CFG: &str = r#"
name = "d"
seed = 7
[model]
input_size = 5
hidden_size = 8
layers = 2
[sparsity]
k_x = 3
k_h = 2
theta_x = 0.0625
theta_h = 0.03125
[hardware]
pe_count = 2
arrays = 2
[stimulus]
timesteps = 40
"#;

#[test]
fn prepare_random_is_deterministic_and_consistent() {
    let r = load_str(CFG).unwrap();
    let a = Design::prepare(&r, None, None).unwrap();
    let b = Design::prepare(&r, None, None).unwrap();
    assert_eq!(a.weight_source, WeightSource::Random);
    assert_eq!(a.input_source, InputSource::Random);
    assert_eq!(a.images(), b.images());
    assert_eq!(a.traces, b.traces);
    assert_eq!(a.x_q, b.x_q);
    assert_eq!(a.timesteps(), 40);
    assert_eq!(a.output().len(), 40);
    assert_eq!(a.traces.len(), 2);
    // Images unpack to exactly the net the golden model ran.
    let imgs: BTreeMap<String, String> = a.images().into_iter().collect();
    for (l, d) in r.layers.iter().enumerate() {
        let shape = LayerShape {
            input_size: d.input_size,
            hidden_size: 8,
            n: 2,
            arrays: 2,
            k_x: 3,
            k_h: 2,
        };
        let back = unpack_layer(l, shape, |n| imgs.get(n).map(|s| s.as_str())).unwrap();
        assert_eq!(QLayer::from_pruned(&back), a.qnet.layers[l]);
    }
    // Cycles = docs/arithmetic.md §6 over the traces with the reference T_upd = 4H/N = 16.
    for l in 0..2 {
        let cp = CycleParams {
            k_x: 3,
            k_h: 2,
            t_upd: 16,
        };
        assert_eq!(a.cycles[l], cp.trace_cycles(&a.traces[l]));
    }
    assert_eq!(a.total_cycles(), a.step_cycles().iter().sum::<u64>());
    // Another seed gives other weights.
    let r2 = load_str(&CFG.replace("seed = 7", "seed = 8")).unwrap();
    assert_ne!(Design::prepare(&r2, None, None).unwrap().qnet, a.qnet);
}

#[test]
fn set_t_upd_recomputes_cycles() {
    let r = load_str(CFG).unwrap();
    let mut d = Design::prepare(&r, None, None).unwrap();
    let before = d.total_cycles();
    d.set_t_upd(|l, _| 100 + l as u64);
    assert_eq!(d.total_cycles(), before + 40 * ((100 - 16) + (101 - 16)));
    let f = d.figures();
    assert_eq!(f.total_cycles, d.total_cycles());
    assert!(f.mac_utilization > 0.0 && f.mac_utilization <= 1.0);
}

#[test]
fn given_weights_and_inputs_are_used() {
    let r = load_str(CFG).unwrap();
    let net = random_float_net(&r);
    check_float_net(&r, &net).unwrap();
    let x: Vec<Vec<f64>> = (0..7).map(|t| vec![t as f64 * 0.1; 5]).collect();
    let d = Design::prepare(&r, Some(net.clone()), Some(x)).unwrap();
    assert_eq!(d.weight_source, WeightSource::Given);
    assert_eq!(d.input_source, InputSource::Given);
    assert_eq!(d.timesteps(), 7);
    assert_eq!(d.x_q[3], vec![77; 5]); // RNE(0.3·256 = 76.8) = 77
    let random = Design::prepare(&r, None, Some(d.x_float.clone())).unwrap();
    assert_eq!(
        random.qnet, d.qnet,
        "random_float_net is what prepare draws"
    );
}

#[test]
fn wrong_shapes_name_the_tensor_and_both_shapes() {
    let r = load_str(CFG).unwrap();
    let mut net = random_float_net(&r);
    net.layers[0].input_size = 6;
    net.layers[0].weight_ih.extend(vec![0.0; 32]);
    let e = Design::prepare(&r, Some(net), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "weight_ih_l0: shape [32, 6] does not match the config's [32, 5]"
    );

    let mut net = random_float_net(&r);
    net.layers[1].bias_hh.pop();
    let e = Design::prepare(&r, Some(net), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bias_hh_l1: shape [31] does not match the config's [32]"
    );

    let mut net = random_float_net(&r);
    net.layers.pop();
    let e = Design::prepare(&r, Some(net), None).unwrap_err();
    assert_eq!(
        e,
        DesignError::LayerCount {
            expected: 2,
            got: 1
        }
    );

    let mut net = random_float_net(&r);
    net.layers[1].weight_hh[9] = f64::NAN;
    let e = Design::prepare(&r, Some(net), None).unwrap_err();
    assert!(e.to_string().starts_with("weight_hh_l1[9] = NaN"), "{e}");
}

#[test]
fn bad_inputs_are_rejected() {
    let r = load_str(CFG).unwrap();
    let e = Design::prepare(&r, None, Some(vec![vec![0.0; 5], vec![0.0; 4]])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "inputs: frame 1 has 4 elements, model.input_size is 5"
    );
    let e = Design::prepare(&r, None, Some(vec![])).unwrap_err();
    assert!(e.to_string().starts_with("inputs: 0 time steps"));
    let e = Design::prepare(
        &r,
        None,
        Some(vec![vec![0.0, 0.0, f64::INFINITY, 0.0, 0.0]]),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "inputs[2] = inf is not a finite number");
}

#[test]
fn example_configs_prepare() {
    // Every shipped config prepares (spartus-1024 with its 20 steps is the largest).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let r = load_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let d = Design::prepare(&r, None, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(d.timesteps(), r.config.stimulus.timesteps);
        let n_images = r.layers.len() * (r.a() * r.n() + 4 * r.n()) + 2;
        assert_eq!(d.images().len(), n_images, "{}", p.display());
    }
}
