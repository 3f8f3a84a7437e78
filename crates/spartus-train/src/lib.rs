//! spartus-train: train, prune, export and evaluate DeltaLSTM classifiers on real data for
//! spartus-gen.
//!
//! Pipeline (one `train` command): parse the vendored `.ts` data ([`data`]) → standardize the
//! inputs with training-set statistics → train a 1-layer LSTM + linear head in candle with
//! column-balanced targeted dropout ([`cbtd`], [`train`]) → hard-prune to exactly K entries per
//! column per PE → fine-tune with the mask fixed, the DeltaLSTM delta thresholds and fake
//! quantization ([`model`]) → export PyTorch-named safetensors, a `gen` config and the input
//! scaling ([`export`]) → evaluate float, pruned and bit-exact golden accuracy, temporal
//! sparsity and predicted cycles ([`eval`], [`report`]); [`sweep`] repeats this over weight
//! sparsity and delta threshold.

pub mod cbtd;
pub mod data;
pub mod eval;
pub mod export;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod sweep;
pub mod train;
