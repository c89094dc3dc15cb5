//! numpy's summation order, so that sums over arrays round exactly as Gymnasium's do.

/// `weight · np.sum(np.square(action))` as numpy evaluates it for a `float32` action and a Python float
/// weight (NEP 50: the weight is weak, so everything stays `float32`): squares, pairwise sum and
/// product all in `f32`.
pub(crate) fn ctrl_cost_f32(weight: f32, action: &[f32]) -> f32 {
    let squares: Vec<f32> = action.iter().map(|a| a * a).collect();
    weight * np_sum(&squares)
}

/// `np.sum` of a contiguous 1-D array: the identity 0 plus numpy's pairwise sum (eight accumulators per
/// block of up to 128 elements, halves above that).
pub(crate) fn np_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    T::default() + pairwise_sum(a)
}

fn pairwise_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        a.iter().fold(T::default(), |s, &x| s + x)
    } else if n <= 128 {
        let mut r = [T::default(); 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        for chunk in a[8..full].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc = *acc + x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res = res + x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_is_exact_on_integers_and_follows_numpy_order() {
        for n in [0usize, 1, 7, 8, 9, 17, 128, 129, 300] {
            let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(np_sum(&a), (n * n.saturating_sub(1) / 2) as f64, "n = {n}");
        }
        // float32, values from numpy 2.4.6: np.sum(np.float32([1e8] + [1] * 8 + [-1e8])) == 0.0 and
        // np.sum(np.float32([1e8] + [1] * 16 + [-1e8])) == 8.0 (the ones meet 1e8 in different
        // accumulators), np.sum(np.array([-0.0])) == 0.0 (the sum starts at the identity).
        let mut a = vec![1e8f32];
        a.extend([1.0; 8]);
        a.push(-1e8);
        assert_eq!(np_sum(&a), 0.0);
        let mut b = vec![1e8f32];
        b.extend([1.0; 16]);
        b.push(-1e8);
        assert_eq!(np_sum(&b), 8.0);
        assert!(np_sum(&[-0.0f64]).is_sign_positive());
    }

    #[test]
    fn ctrl_cost_rounds_in_f32() {
        // numpy 2.4.6: 0.1 * np.sum(np.square(np.float32([0.3, -0.7, 0.9]))) is np.float32
        // 0.13899998366832733; the same sum in float64 would give 0.13899999475479136.
        let cost = ctrl_cost_f32(0.1, &[0.3, -0.7, 0.9]);
        assert_eq!(f64::from(cost), 0.13899998366832733);
        assert_eq!(ctrl_cost_f32(0.5, &[]), 0.0);
    }
}
