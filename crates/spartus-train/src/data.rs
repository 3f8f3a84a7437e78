//! Time-series classification data: a parser for the sktime/aeon `.ts` format and the input
//! standardization that maps raw frames to what the accelerator sees.
//!
//! The `.ts` format (UEA/UCR archive, sktime, aeon) is a text file: `#` comment lines, a header
//! of `@key value` lines (`@problemName`, `@timeStamps`, `@missing`, `@univariate`,
//! `@dimensions`, `@equalLength`, `@seriesLength`, `@classLabel true <labels...>`), then
//! `@data` followed by one case per line. A case is `dim_0:dim_1:...:dim_{D-1}:label`, each
//! dimension a comma-separated list of numbers; all dimensions of a case have the same length,
//! which may differ between cases (`@equalLength false`). Only the subset the vendored data
//! uses is accepted: no time stamps, no missing values (`?`), class labels required. Anything
//! else is an error naming the line.

use std::path::Path;

/// A `.ts` parse or load error, with the 1-based line number where it applies.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Malformed content.
    #[error("{file}:{line}: {msg}")]
    Parse {
        /// File name (or `<memory>`).
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// Train and test sets disagree (dimensions or class labels).
    #[error("train/test mismatch: {0}")]
    Mismatch(String),
}

/// One multivariate series with its class.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Frames `[T][D]` (time-major, what an LSTM consumes).
    pub frames: Vec<Vec<f64>>,
    /// Class index into [`TsDataset::class_labels`].
    pub label: usize,
}

impl Series {
    /// Number of time steps T.
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    /// True if the series has no time steps (never the case for parsed data).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// A parsed `.ts` file.
#[derive(Debug, Clone, PartialEq)]
pub struct TsDataset {
    /// `@problemName`.
    pub problem_name: String,
    /// `@dimensions` (D, features per frame).
    pub dims: usize,
    /// Class labels in header order; `Series::label` indexes this list.
    pub class_labels: Vec<String>,
    /// The cases in file order.
    pub series: Vec<Series>,
}

impl TsDataset {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_labels.len()
    }
    /// Shortest and longest series length.
    pub fn length_range(&self) -> (usize, usize) {
        let min = self.series.iter().map(Series::len).min().unwrap_or(0);
        let max = self.series.iter().map(Series::len).max().unwrap_or(0);
        (min, max)
    }
    /// Number of cases per class, in class order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes()];
        for s in &self.series {
            c[s.label] += 1;
        }
        c
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parse `.ts` text. `file` names the source in error messages.
pub fn parse_ts(text: &str, file: &str) -> Result<TsDataset, DataError> {
    let err = |line: usize, msg: String| DataError::Parse {
        file: file.to_string(),
        line,
        msg,
    };
    let mut problem_name = String::new();
    let mut dims: Option<usize> = None;
    let mut labels: Option<Vec<String>> = None;
    let mut equal_length: Option<bool> = None;
    let mut series_length: Option<usize> = None;
    let mut in_data = false;
    let mut series = Vec::new();

    for (idx, raw) in text.lines().enumerate() {
        let ln = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            if !line.starts_with('@') {
                return Err(err(
                    ln,
                    format!(
                        "expected a header line starting with '@', got {:.40?}",
                        line
                    ),
                ));
            }
            let mut parts = line[1..].split_whitespace();
            let key = parts.next().unwrap_or("").to_ascii_lowercase();
            let rest: Vec<&str> = parts.collect();
            let one = |what: &str| -> Result<&str, DataError> {
                match rest.as_slice() {
                    [v] => Ok(v),
                    _ => Err(err(ln, format!("@{what} takes exactly one value"))),
                }
            };
            match key.as_str() {
                "problemname" => problem_name = rest.join(" "),
                "timestamps" => {
                    if parse_bool(one("timeStamps")?) != Some(false) {
                        return Err(err(ln, "@timeStamps true is not supported".into()));
                    }
                }
                "missing" => {
                    if parse_bool(one("missing")?) != Some(false) {
                        return Err(err(ln, "@missing true is not supported".into()));
                    }
                }
                "univariate" => {
                    parse_bool(one("univariate")?)
                        .ok_or_else(|| err(ln, "@univariate must be true or false".into()))?;
                }
                "dimensions" => {
                    let d: usize = one("dimensions")?
                        .parse()
                        .map_err(|_| err(ln, "@dimensions must be a positive integer".into()))?;
                    if d == 0 {
                        return Err(err(ln, "@dimensions must be a positive integer".into()));
                    }
                    dims = Some(d);
                }
                "equallength" => {
                    equal_length = Some(
                        parse_bool(one("equalLength")?)
                            .ok_or_else(|| err(ln, "@equalLength must be true or false".into()))?,
                    );
                }
                "serieslength" => {
                    series_length = Some(
                        one("seriesLength")?
                            .parse()
                            .map_err(|_| err(ln, "@seriesLength must be an integer".into()))?,
                    );
                }
                "classlabel" => match rest.split_first() {
                    Some((flag, ls)) if parse_bool(flag) == Some(true) && !ls.is_empty() => {
                        let ls: Vec<String> = ls.iter().map(|s| s.to_string()).collect();
                        for (i, l) in ls.iter().enumerate() {
                            if ls[..i].contains(l) {
                                return Err(err(ln, format!("duplicate class label {l:?}")));
                            }
                        }
                        labels = Some(ls);
                    }
                    _ => {
                        return Err(err(
                            ln,
                            "@classLabel must be 'true' followed by the labels".into(),
                        ))
                    }
                },
                "data" => {
                    if !rest.is_empty() {
                        return Err(err(ln, "@data takes no value".into()));
                    }
                    if labels.is_none() {
                        return Err(err(
                            ln,
                            "@classLabel true <labels> must precede @data".into(),
                        ));
                    }
                    in_data = true;
                }
                other => return Err(err(ln, format!("unknown header key @{other}"))),
            }
            continue;
        }
        let labels = labels.as_ref().expect("checked at @data");
        let fields: Vec<&str> = line.split(':').collect();
        let d_expected = dims.unwrap_or(fields.len().saturating_sub(1));
        if fields.len() != d_expected + 1 {
            return Err(err(
                ln,
                format!("expected {d_expected} dimensions and a label separated by ':', found {} fields", fields.len()),
            ));
        }
        if dims.is_none() {
            dims = Some(d_expected);
        }
        let label_text = fields[d_expected].trim();
        let label = labels.iter().position(|l| l == label_text).ok_or_else(|| {
            err(
                ln,
                format!("class label {label_text:?} is not declared in @classLabel"),
            )
        })?;
        let mut by_dim: Vec<Vec<f64>> = Vec::with_capacity(d_expected);
        for (d, f) in fields[..d_expected].iter().enumerate() {
            let vals = f
                .split(',')
                .map(|v| {
                    let v = v.trim();
                    match v.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        _ => Err(err(
                            ln,
                            format!("dimension {d}: {v:?} is not a finite number"),
                        )),
                    }
                })
                .collect::<Result<Vec<f64>, _>>()?;
            by_dim.push(vals);
        }
        let t = by_dim[0].len();
        if let Some(d) = by_dim.iter().position(|v| v.len() != t) {
            return Err(err(
                ln,
                format!(
                    "dimension {d} has {} values, dimension 0 has {t}",
                    by_dim[d].len()
                ),
            ));
        }
        if equal_length == Some(true) {
            if let Some(sl) = series_length {
                if t != sl {
                    return Err(err(
                        ln,
                        format!("series has {t} steps, @seriesLength is {sl}"),
                    ));
                }
            }
        }
        let frames = (0..t)
            .map(|ti| by_dim.iter().map(|v| v[ti]).collect())
            .collect();
        series.push(Series { frames, label });
    }
    if !in_data {
        return Err(err(text.lines().count().max(1), "no @data section".into()));
    }
    if series.is_empty() {
        return Err(err(
            text.lines().count().max(1),
            "@data section is empty".into(),
        ));
    }
    Ok(TsDataset {
        problem_name,
        dims: dims.expect("set by header or first case"),
        class_labels: labels.expect("checked at @data"),
        series,
    })
}

/// Read and parse a `.ts` file.
pub fn load_ts(path: &Path) -> Result<TsDataset, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_ts(&text, &path.display().to_string())
}

/// A train/test split of one problem, e.g. `data/JapaneseVowels/JapaneseVowels_{TRAIN,TEST}.ts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training cases.
    pub train: TsDataset,
    /// Test cases.
    pub test: TsDataset,
}

impl Split {
    /// Load `<dir>/<Name>_TRAIN.ts` and `<dir>/<Name>_TEST.ts` where `Name` is the folder's
    /// last path component; checks that both declare the same dimensions and class labels.
    pub fn load_dir(dir: &Path) -> Result<Split, DataError> {
        let name = dir.file_name().and_then(|s| s.to_str()).ok_or_else(|| {
            DataError::Mismatch(format!("{}: cannot derive the problem name", dir.display()))
        })?;
        let train = load_ts(&dir.join(format!("{name}_TRAIN.ts")))?;
        let test = load_ts(&dir.join(format!("{name}_TEST.ts")))?;
        if train.dims != test.dims {
            return Err(DataError::Mismatch(format!(
                "dimensions {} vs {}",
                train.dims, test.dims
            )));
        }
        if train.class_labels != test.class_labels {
            return Err(DataError::Mismatch(format!(
                "class labels {:?} vs {:?}",
                train.class_labels, test.class_labels
            )));
        }
        Ok(Split { train, test })
    }
}

/// Per-feature affine input map `x_hw = scale · (x - mean) / std`, fitted on the training
/// set only. The accelerator receives `sat16(RNE(x_hw · 256))` (Q8.8); this map is applied by
/// the host and recorded in the exported metadata (it is not folded into the weights, which
/// would push W_x out of the int8 Q1.7 range and change what Θx means).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputScaling {
    /// Per-feature training-set mean.
    pub mean: Vec<f64>,
    /// Per-feature training-set standard deviation (population; floored at 1e-12).
    pub std: Vec<f64>,
    /// Global factor applied after standardization (1.0 = unit variance).
    pub scale: f64,
}

impl InputScaling {
    /// Fit mean and std over all frames of all training series.
    pub fn fit(train: &TsDataset, scale: f64) -> Self {
        let d = train.dims;
        let mut sum = vec![0.0; d];
        let mut sq = vec![0.0; d];
        let mut n = 0usize;
        for s in &train.series {
            for f in &s.frames {
                for j in 0..d {
                    sum[j] += f[j];
                    sq[j] += f[j] * f[j];
                }
                n += 1;
            }
        }
        let n = n.max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0).sqrt().max(1e-12))
            .collect();
        Self { mean, std, scale }
    }

    /// Map one frame.
    pub fn apply_frame(&self, f: &[f64]) -> Vec<f64> {
        f.iter()
            .enumerate()
            .map(|(j, &v)| self.scale * (v - self.mean[j]) / self.std[j])
            .collect()
    }

    /// Map a whole dataset (labels kept).
    pub fn apply(&self, ds: &TsDataset) -> TsDataset {
        TsDataset {
            series: ds
                .series
                .iter()
                .map(|s| Series {
                    frames: s.frames.iter().map(|f| self.apply_frame(f)).collect(),
                    label: s.label,
                })
                .collect(),
            ..ds.clone()
        }
    }
}

/// Round every value to the Q8.8 grid (`sat16(RNE(x·256))/256`): what the hardware sees.
pub fn quantize_dataset(ds: &TsDataset) -> TsDataset {
    use spartus_model::fixed::quantize_act;
    TsDataset {
        series: ds
            .series
            .iter()
            .map(|s| Series {
                frames: s
                    .frames
                    .iter()
                    .map(|f| f.iter().map(|&v| quantize_act(v) as f64 / 256.0).collect())
                    .collect(),
                label: s.label,
            })
            .collect(),
        ..ds.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str =
        "# comment\n@problemName Toy\n@timeStamps false\n@missing false\n@univariate false\n\
@dimensions 2\n@equalLength false\n@classLabel true a b\n@data\n1,2,3:4,5,6:b\n0.5:-1e-3:a\n";

    #[test]
    fn parses_small_file() {
        let ds = parse_ts(SMALL, "toy").unwrap();
        assert_eq!(ds.problem_name, "Toy");
        assert_eq!(ds.dims, 2);
        assert_eq!(ds.class_labels, vec!["a", "b"]);
        assert_eq!(ds.series.len(), 2);
        assert_eq!(
            ds.series[0].frames,
            vec![vec![1.0, 4.0], vec![2.0, 5.0], vec![3.0, 6.0]]
        );
        assert_eq!(ds.series[0].label, 1);
        assert_eq!(ds.series[1].frames, vec![vec![0.5, -1e-3]]);
        assert_eq!(ds.length_range(), (1, 3));
        assert_eq!(ds.class_counts(), vec![1, 1]);
    }

    #[test]
    fn rejects_bad_input_with_line_numbers() {
        let cases = [
            (
                SMALL.replace("1,2,3:4,5,6:b", "1,2,3:4,5:b"),
                "line",
                ":10:",
            ),
            (SMALL.replace("0.5:-1e-3:a", "0.5:?:a"), "missing", ":11:"),
            (SMALL.replace("0.5:-1e-3:a", "0.5:1:c"), "label", ":11:"),
            (SMALL.replace("0.5:-1e-3:a", "0.5:a"), "fields", ":11:"),
            (
                SMALL.replace("@missing false", "@missing true"),
                "missing",
                ":4:",
            ),
            (
                SMALL.replace("@dimensions 2", "@dimension 2"),
                "unknown",
                ":6:",
            ),
            (
                SMALL.replace("@classLabel true a b", "@classLabel false"),
                "classLabel",
                ":8:",
            ),
        ];
        for (text, what, at) in cases {
            let e = parse_ts(&text, "toy").unwrap_err().to_string();
            assert!(e.contains(at), "{what}: {e}");
        }
        assert!(parse_ts("@problemName x\n@classLabel true 1\n", "t").is_err());
    }

    #[test]
    fn scaling_standardizes_training_frames() {
        let ds = parse_ts(SMALL, "toy").unwrap();
        let sc = InputScaling::fit(&ds, 1.0);
        let z = sc.apply(&ds);
        let all: Vec<&Vec<f64>> = z.series.iter().flat_map(|s| &s.frames).collect();
        for j in 0..2 {
            let m: f64 = all.iter().map(|f| f[j]).sum::<f64>() / all.len() as f64;
            let v: f64 = all.iter().map(|f| (f[j] - m).powi(2)).sum::<f64>() / all.len() as f64;
            assert!(
                m.abs() < 1e-12 && (v - 1.0).abs() < 1e-9,
                "feature {j}: mean {m} var {v}"
            );
        }
    }
}
