//! Statistics across runs: median, spread and a 95% confidence interval.

use serde::Serialize;

/// How a figure varied across runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// The median: the figure reported.
    pub median: f64,
    /// The lowest run.
    pub min: f64,
    /// The highest run.
    pub max: f64,
    /// The mean.
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean (Student's t), when there are
    /// at least two runs.
    pub ci95: Option<f64>,
}

/// Two-sided 95% critical values of Student's t for 1 to 30 degrees of freedom.
const T_95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The spread of `values` (at least one).
///
/// ```
/// use ferry_bench::stats::spread;
///
/// let s = spread(&[10.0, 12.0, 11.0]);
/// assert_eq!((s.median, s.min, s.max), (11.0, 10.0, 12.0));
/// assert!((s.ci95.unwrap() - 2.484).abs() < 0.01);
/// ```
pub fn spread(values: &[f64]) -> Spread {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return Spread {
            median: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
            mean: f64::NAN,
            ci95: None,
        };
    }
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let ci95 = (n >= 2).then(|| {
        let variance = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = T_95.get(n - 2).copied().unwrap_or(1.96);
        t * (variance / n as f64).sqrt()
    });
    Spread {
        median,
        min: sorted[0],
        max: sorted[n - 1],
        mean,
        ci95,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }

    #[test]
    fn one_run_has_no_interval_and_nothing_is_nan() {
        let one = spread(&[5.0]);
        assert_eq!((one.median, one.ci95), (5.0, None));
        assert!(spread(&[]).median.is_nan());
    }

    #[test]
    fn identical_runs_have_a_zero_width_interval() {
        assert_eq!(spread(&[7.0; 5]).ci95, Some(0.0));
    }
}
