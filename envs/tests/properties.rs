//! Invariants of the environments, the wrappers and the vector env: determinism, spaces, termination and
//! truncation, physics sanity, no NaN, closed forms of the normalization statistics.

use envs::classic::{cartpole_v1, pendulum_v1, CartPole, Pendulum};
use envs::rng::NumpyRng;
use envs::wrappers::{
    ClipAction, ClipObservation, ClipReward, NormalizeObservation, NormalizeReward, RecordEpisodeStatistics,
    RunningMeanStd, TimeLimit,
};
use envs::{
    make_env, make_vec_env, Action, AutoresetMode, Backend, BatchAction, Dtype, Env, EnvError, Info, Reset,
    Space, Step, SyncVectorEnv,
};

/// Runs `steps` random actions (drawn from `NumpyRng(action_seed)`), resetting when an episode ends,
/// and returns every observation and reward as bits.
fn rollout(env: &mut dyn Env, steps: usize, action_seed: u64) -> Vec<u64> {
    let mut rng = NumpyRng::new(action_seed);
    let mut bits: Vec<u64> = env.reset(None).unwrap().obs.iter().map(|x| x.to_bits()).collect();
    for _ in 0..steps {
        let a = env.action_space().sample(&mut rng);
        let s = env.step(a.as_action()).unwrap();
        bits.extend(s.obs.iter().map(|x| x.to_bits()));
        bits.push(s.reward.to_bits());
        if s.done() {
            bits.extend(env.reset(None).unwrap().obs.iter().map(|x| x.to_bits()));
        }
    }
    bits
}

#[test]
fn same_seed_same_trajectory() {
    for id in ["CartPole-v1", "Pendulum-v1"] {
        let a = rollout(&mut *make_env(id, Backend::Auto, 5).unwrap(), 3000, 1);
        let b = rollout(&mut *make_env(id, Backend::Auto, 5).unwrap(), 3000, 1);
        assert_eq!(a, b, "{id}: same seed, same actions");
        let c = rollout(&mut *make_env(id, Backend::Auto, 6).unwrap(), 3000, 1);
        assert_ne!(a, c, "{id}: another seed gives another trajectory");
        // Construction seed = reset seed.
        let mut e = make_env(id, Backend::Auto, 0).unwrap();
        assert_eq!(
            e.reset(Some(5)).unwrap(),
            make_env(id, Backend::Auto, 5).unwrap().reset(None).unwrap()
        );
    }
}

#[test]
fn observations_stay_in_their_space_and_finite_over_10k_random_steps() {
    for id in ["cartpole", "pendulum"] {
        let mut env = make_env(id, Backend::Auto, 11).unwrap();
        let mut rng = NumpyRng::new(12);
        let space = env.observation_space().clone();
        let mut obs = env.reset(None).unwrap().obs;
        let (mut episodes, mut ret) = (0, 0.0f64);
        for _ in 0..10_000 {
            assert!(obs.iter().all(|x| x.is_finite()), "{id}: {obs:?}");
            // A terminal CartPole observation is one step past ±2.4 or ±12°: still inside the box's ±4.8, ±24°.
            assert!(space.contains_obs(&obs), "{id}: {obs:?} outside {space:?}");
            let s = env.step(env.action_space().sample(&mut rng).as_action()).unwrap();
            assert!(s.reward.is_finite());
            ret += s.reward;
            let done = s.done();
            obs = s.obs;
            if done {
                episodes += 1;
                obs = env.reset(None).unwrap().obs;
            }
        }
        assert!(ret.is_finite());
        // Random CartPole episodes last ~22 steps; Pendulum episodes are exactly 200 steps.
        if id == "pendulum" {
            assert_eq!(episodes, 50);
        } else {
            assert!((300..700).contains(&episodes), "{episodes}");
        }
    }
}

#[test]
fn spaces_and_shapes() {
    let cp = make_env("CartPole-v1", Backend::ClassicControl, 0).unwrap();
    assert_eq!(cp.observation_space().shape(), &[4]);
    assert_eq!(cp.action_space().discrete_n(), Some(2));
    let pd = make_env("Pendulum-v1", Backend::ClassicControl, 0).unwrap();
    assert_eq!(pd.observation_space().shape(), &[3]);
    assert_eq!(pd.action_space(), &Space::box_f32(&[-2.0], &[2.0]));
    let Space::Box { dtype, .. } = pd.observation_space() else {
        panic!()
    };
    assert_eq!(*dtype, Dtype::F32);
    // Observations are float32 values.
    let mut pd = pd;
    let obs = pd.reset(None).unwrap().obs;
    assert!(obs.iter().all(|&x| x as f32 as f64 == x));
}

/// A linear state-feedback controller keeps the pole up: the episode is truncated at exactly 500 steps.
#[test]
fn cartpole_truncates_at_500_and_not_before() {
    let mut env = cartpole_v1(3);
    let mut obs = env.reset(None).unwrap().obs;
    for t in 1..=500u64 {
        let push_right = obs[0] * 0.1 + obs[1] * 0.5 + obs[2] * 10.0 + obs[3] * 2.0 > 0.0;
        let s = env.step(Action::Discrete(usize::from(push_right))).unwrap();
        assert!(!s.terminated, "the controller dropped the pole at step {t}");
        assert_eq!(s.truncated, t == 500, "step {t}");
        obs = s.obs;
    }
    assert_eq!(env.elapsed_steps(), 500);
    env.reset(None).unwrap();
    assert_eq!(env.elapsed_steps(), 0);
}

#[test]
fn pendulum_truncates_at_200_and_never_terminates() {
    let mut env = pendulum_v1(0);
    env.reset(None).unwrap();
    for t in 1..=200u64 {
        let s = env.step(Action::Continuous(&[1.0])).unwrap();
        assert!(!s.terminated);
        assert_eq!(s.truncated, t == 200);
    }
}

#[test]
fn terminated_and_truncated_together() {
    let mut env = TimeLimit::new(CartPole::new(0), 1);
    env.reset(None).unwrap();
    env.inner_mut().reset_to_state(&[0.0, 0.0, 0.3, 0.0]).unwrap();
    let s = env.step(Action::Discrete(0)).unwrap();
    assert!(s.terminated && s.truncated);
}

/// Zero torque, no friction: Pendulum's semi-implicit (symplectic) Euler step conserves a modified energy.
///
/// With θ̈ = k·sin θ, k = 3g/(2l) = 15, h = dt = 0.05, the step θ̇' = θ̇ + h·k·sin θ, θ' = θ + h·θ̇' is the
/// flow of the modified Hamiltonian (Hairer, Lubich & Wanner, *Geometric Numerical Integration*, IX.3)
/// H̃ = H + (h/2)·k·θ̇·sin θ + (h²/12)·(k²·sin²θ − k·θ̇²·cos θ) + O(h³), H = θ̇²/2 + k·cos θ.
/// Hence, over any horizon (no drift):
/// * |H̃₂ₙ − H̃₂₀| = O(h³): asserted ≤ 0.005 (measured 0.0034 over 4000 steps, ~100 periods);
/// * |H̃₁ₙ − H̃₁₀| ≤ range of the h² term + 0.005 (measured 0.0101 ≤ 0.0119 + 0.005);
/// * |Hₙ − H₀| ≤ (h/2)·k·max|θ̇ sin θ| + the same (measured 0.685 ≤ 0.688 + 0.0169).
#[test]
fn pendulum_conserves_energy_to_the_integrators_order() {
    let (k, h) = (
        3.0 * Pendulum::DEFAULT_GRAVITY / (2.0 * Pendulum::LENGTH),
        Pendulum::DT,
    );
    let energy = |[q, p]: [f64; 2]| 0.5 * p * p + k * q.cos();
    let first = |[q, p]: [f64; 2]| h / 2.0 * k * p * q.sin();
    let second = |[q, p]: [f64; 2]| h * h / 12.0 * (k * k * q.sin().powi(2) - k * p * p * q.cos());
    let mut env = Pendulum::new(0);
    env.reset_to_state(&[std::f64::consts::PI - 1.0, 0.0]).unwrap(); // 1 rad from hanging, at rest
    let s0 = env.state().unwrap();
    let (e0, e1, e2) = (
        energy(s0),
        energy(s0) + first(s0),
        energy(s0) + first(s0) + second(s0),
    );
    let (mut de, mut de1, mut de2, mut max_first, mut lo2, mut hi2) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, f64::MAX, f64::MIN);
    for _ in 0..4000 {
        env.step(Action::Continuous(&[0.0])).unwrap();
        let s = env.state().unwrap();
        assert!(
            s[1].abs() < Pendulum::MAX_SPEED,
            "the speed clip would remove energy"
        );
        de = de.max((energy(s) - e0).abs());
        de1 = de1.max((energy(s) + first(s) - e1).abs());
        de2 = de2.max((energy(s) + first(s) + second(s) - e2).abs());
        max_first = max_first.max(first(s).abs());
        (lo2, hi2) = (lo2.min(second(s)), hi2.max(second(s)));
    }
    let o_h3 = 0.005;
    assert!(de2 <= o_h3, "second-order modified energy drifted by {de2}");
    assert!(
        de1 <= hi2 - lo2 + o_h3,
        "first-order modified energy drifted by {de1} > {}",
        hi2 - lo2 + o_h3
    );
    assert!(
        de <= max_first + hi2 - lo2 + o_h3,
        "energy drifted by {de} > {}",
        max_first + hi2 - lo2 + o_h3
    );
    // And the bound is not vacuous: the energy does oscillate by about (h/2)·k·max|θ̇ sin θ|.
    assert!(de > 0.5 * max_first, "{de} vs {max_first}");
}

/// A test double: observation = the last action, reward 1, terminates after `len` steps.
struct Echo {
    len: u64,
    t: u64,
    obs_space: Space,
    act_space: Space,
}

impl Echo {
    fn new(len: u64) -> Self {
        Self {
            len,
            t: 0,
            obs_space: Space::unbounded(2, Dtype::F64),
            act_space: Space::box_f32(&[-1.0, 0.0], &[1.0, 2.0]),
        }
    }
}

impl Env for Echo {
    fn id(&self) -> &str {
        "Echo"
    }
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }
    fn action_space(&self) -> &Space {
        &self.act_space
    }
    fn reset(&mut self, _seed: Option<u64>) -> envs::Result<Reset> {
        self.t = 0;
        Ok(Reset {
            obs: vec![0.0, 0.0],
            info: Info::default(),
        })
    }
    fn step(&mut self, action: Action<'_>) -> envs::Result<Step> {
        self.act_space.validate_action(action, "Echo")?;
        let Action::Continuous(a) = action else {
            unreachable!()
        };
        self.t += 1;
        Ok(Step {
            obs: a.iter().map(|&x| x as f64).collect(),
            reward: 1.0,
            terminated: self.t >= self.len,
            truncated: false,
            info: Info::default(),
        })
    }
}

#[test]
fn clip_action_clips_into_the_box() {
    let mut env = ClipAction::new(Echo::new(100)).unwrap();
    assert_eq!(env.action_space(), &Space::unbounded(2, Dtype::F32));
    env.reset(None).unwrap();
    assert_eq!(
        env.step(Action::Continuous(&[-5.0, 7.0])).unwrap().obs,
        vec![-1.0, 2.0]
    );
    assert_eq!(
        env.step(Action::Continuous(&[0.25, 1.5])).unwrap().obs,
        vec![0.25, 1.5]
    );
    assert!(matches!(
        env.step(Action::Continuous(&[f32::NAN, 0.0])),
        Err(EnvError::NonFiniteAction { .. })
    ));
    assert!(matches!(
        env.step(Action::Continuous(&[0.0])),
        Err(EnvError::ActionLength { .. })
    ));
    assert!(matches!(
        ClipAction::new(CartPole::new(0)),
        Err(EnvError::IncompatibleSpace { .. })
    ));
}

#[test]
fn clip_observation_and_reward() {
    let mut env = ClipReward::new(
        ClipObservation::new(Echo::new(100), -0.5, 0.5).unwrap(),
        0.0,
        0.25,
    )
    .unwrap();
    env.reset(None).unwrap();
    let s = env.step(Action::Continuous(&[-1.0, 0.375])).unwrap();
    assert_eq!((s.obs, s.reward), (vec![-0.5, 0.375], 0.25));
    assert!(ClipReward::new(Echo::new(1), 1.0, 0.0).is_err());
    assert!(ClipObservation::new(Echo::new(1), f64::NAN, 0.0).is_err());
}

#[test]
fn record_episode_statistics() {
    let mut env = RecordEpisodeStatistics::with_buffer_length(Echo::new(7), 2);
    for episode in 1..=3u64 {
        env.reset(None).unwrap();
        for t in 1..=7 {
            let s = env.step(Action::Continuous(&[0.0, 0.0])).unwrap();
            match (t, s.info.episode) {
                (7, Some(e)) => assert_eq!((e.episode_return, e.length), (7.0, 7)),
                (7, None) => panic!("no statistics at the end of episode {episode}"),
                (_, e) => assert_eq!(e, None),
            }
        }
        assert_eq!(env.episode_count(), episode);
    }
    assert_eq!(
        env.return_queue().iter().copied().collect::<Vec<_>>(),
        vec![7.0, 7.0],
        "buffer of 2"
    );
    // Pendulum: the return is the sum of the rewards.
    let mut env = RecordEpisodeStatistics::new(pendulum_v1(4));
    env.reset(None).unwrap();
    let mut sum = 0.0;
    loop {
        let s = env.step(Action::Continuous(&[0.5])).unwrap();
        sum += s.reward;
        if let Some(e) = s.info.episode {
            assert_eq!((e.episode_return, e.length), (sum, 200));
            break;
        }
    }
}

/// Constant reward 1 and no termination: Gᵗ = Σ_{k<t} γᵏ = (1 − γᵗ)/(1 − γ), and the return variance is
/// the pooled variance of G¹…Gᵗ with the 1e-4 pseudo-sample (see `RunningMeanStd`).
#[test]
fn normalize_reward_matches_the_closed_form() {
    let gamma: f64 = 0.99;
    let mut env = NormalizeReward::new(Echo::new(u64::MAX));
    env.reset(None).unwrap();
    let mut gs = Vec::new();
    for t in 1..=300 {
        let s = env.step(Action::Continuous(&[0.0, 0.0])).unwrap();
        let g = (1.0 - gamma.powi(t)) / (1.0 - gamma);
        gs.push(g);
        assert!((env.discounted_return() - g).abs() < 1e-12 * g);
        let eps = RunningMeanStd::DEFAULT_EPSILON;
        let n = eps + gs.len() as f64;
        let mean = gs.iter().sum::<f64>() / n;
        let var = (eps + gs.iter().map(|g| g * g).sum::<f64>()) / n - mean * mean;
        assert!(
            (env.return_rms().var()[0] - var).abs() < 1e-9 * var.max(1.0),
            "t = {t}"
        );
        assert!((s.reward - 1.0 / (var + 1e-8).sqrt()).abs() < 1e-9, "t = {t}");
    }
    // Termination clears G: the next step starts from the reward alone.
    let mut env = NormalizeReward::new(Echo::new(3));
    env.reset(None).unwrap();
    for _ in 0..4 {
        env.step(Action::Continuous(&[0.0, 0.0])).unwrap();
    }
    assert_eq!(
        env.discounted_return(),
        1.0,
        "after the terminating step G restarts from r"
    );
    assert!(NormalizeReward::with_params(Echo::new(1), 1.5, 1e-8).is_err());
}

#[test]
fn normalize_observation_saves_loads_and_freezes() {
    let mut env = NormalizeObservation::new(pendulum_v1(1)).unwrap();
    env.reset(None).unwrap();
    for _ in 0..150 {
        env.step(Action::Continuous(&[1.0])).unwrap();
    }
    let saved = serde_json::to_string(env.rms()).unwrap();
    assert_eq!(env.rms().count(), 151.0 + 1e-4, "reset + 150 steps");

    // Same statistics, frozen, on two copies of the same environment: identical outputs, stats unchanged.
    let mut a = NormalizeObservation::new(pendulum_v1(2)).unwrap();
    a.set_rms(serde_json::from_str(&saved).unwrap()).unwrap();
    a.set_update_running_mean(false);
    let mut raw = pendulum_v1(2);
    let r0 = raw.reset(None).unwrap();
    let n0 = a.reset(None).unwrap();
    let expect = |obs: &[f64], rms: &RunningMeanStd| -> Vec<f64> {
        rms.normalize(obs, 1e-8)
            .unwrap()
            .into_iter()
            .map(|x| x as f32 as f64)
            .collect()
    };
    assert_eq!(n0.obs, expect(&r0.obs, a.rms()));
    for _ in 0..20 {
        let s = raw.step(Action::Continuous(&[-0.5])).unwrap();
        assert_eq!(
            a.step(Action::Continuous(&[-0.5])).unwrap().obs,
            expect(&s.obs, a.rms())
        );
    }
    assert_eq!(serde_json::to_string(a.rms()).unwrap(), saved);
    assert!(a.set_rms(RunningMeanStd::new(4)).is_err());
    assert_eq!(a.observation_space(), &Space::unbounded(3, Dtype::F32));
    assert!(matches!(
        NormalizeObservation::with_epsilon(pendulum_v1(0), 0.0),
        Err(EnvError::InvalidParameter { .. })
    ));
}

fn vector_rollout(threads: usize, mode: AutoresetMode, id: &str) -> Vec<u64> {
    let mut venv = make_vec_env(id, Backend::Auto, 100, 5, mode)
        .unwrap()
        .with_threads(threads);
    let mut rng = NumpyRng::new(0);
    let mut bits: Vec<u64> = venv
        .reset(Some(100))
        .unwrap()
        .obs
        .iter()
        .map(|x| x.to_bits())
        .collect();
    for _ in 0..300 {
        let s = match venv.single_action_space() {
            Space::Discrete(n) => {
                let a: Vec<usize> = (0..5).map(|_| rng.below(*n as u64) as usize).collect();
                venv.step(BatchAction::Discrete(&a)).unwrap()
            }
            Space::Box { .. } => {
                let a: Vec<f32> = (0..5).map(|_| rng.uniform(-2.0, 2.0) as f32).collect();
                venv.step(BatchAction::Continuous(&a)).unwrap()
            }
        };
        bits.extend(s.obs.iter().chain(&s.rewards).map(|x| x.to_bits()));
        bits.extend(s.final_obs.iter().flatten().flatten().map(|x| x.to_bits()));
        bits.extend(s.terminated.iter().chain(&s.truncated).map(|&b| b as u64));
    }
    bits
}

#[test]
fn vector_env_is_thread_count_independent() {
    for mode in [AutoresetMode::NextStep, AutoresetMode::SameStep] {
        for id in ["cartpole", "pendulum"] {
            let one = vector_rollout(1, mode, id);
            assert_eq!(one, vector_rollout(2, mode, id), "{id} {mode:?}");
            assert_eq!(one, vector_rollout(5, mode, id), "{id} {mode:?}");
        }
    }
}

#[test]
fn vector_env_seeds_copy_i_with_seed_plus_i() {
    let mut venv = make_vec_env("pendulum", Backend::Auto, 0, 3, AutoresetMode::NextStep).unwrap();
    let r = venv.reset(Some(40)).unwrap();
    for i in 0..3 {
        let single = Pendulum::new(40 + i as u64).reset(None).unwrap().obs;
        assert_eq!(&r.obs[3 * i..3 * i + 3], &single[..]);
    }
}

#[test]
fn vector_env_next_step_autoreset() {
    let envs: Vec<_> = [2u64, 3]
        .iter()
        .map(|&len| RecordEpisodeStatistics::new(Echo::new(len)))
        .collect();
    let mut venv = SyncVectorEnv::new(envs, AutoresetMode::NextStep).unwrap();
    venv.reset(None).unwrap();
    let a = [0.5f32, 1.0, 0.25, 1.5];
    let s1 = venv.step(BatchAction::Continuous(&a)).unwrap();
    assert_eq!(s1.terminated, vec![false, false]);
    assert_eq!(s1.obs, vec![0.5, 1.0, 0.25, 1.5]);
    let s2 = venv.step(BatchAction::Continuous(&a)).unwrap();
    assert_eq!(s2.terminated, vec![true, false]);
    assert_eq!(
        s2.episodes().map(|(i, e)| (i, e.length)).collect::<Vec<_>>(),
        vec![(0, 2)]
    );
    // Copy 0 is reset instead of stepped: reset observation, reward 0, no flags.
    let s3 = venv.step(BatchAction::Continuous(&a)).unwrap();
    assert_eq!(
        (s3.obs_row(0), s3.rewards[0], s3.terminated[0]),
        (&[0.0, 0.0][..], 0.0, false)
    );
    assert_eq!((s3.rewards[1], s3.terminated[1]), (1.0, true));
    assert!(s3.final_obs.iter().all(Option::is_none));
}

#[test]
fn vector_env_same_step_autoreset() {
    let envs: Vec<_> = [2u64, 3]
        .iter()
        .map(|&len| RecordEpisodeStatistics::new(Echo::new(len)))
        .collect();
    let mut venv = SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap();
    venv.reset(None).unwrap();
    let a = [0.5f32, 1.0, 0.25, 1.5];
    venv.step(BatchAction::Continuous(&a)).unwrap();
    let s = venv.step(BatchAction::Continuous(&a)).unwrap();
    assert_eq!((s.terminated[0], s.rewards[0]), (true, 1.0));
    assert_eq!(s.obs_row(0), &[0.0, 0.0], "already reset");
    assert_eq!(s.final_obs[0].as_deref(), Some(&[0.5, 1.0][..]));
    assert_eq!(
        s.final_infos[0]
            .as_ref()
            .and_then(|i| i.episode.as_ref())
            .map(|e| e.length),
        Some(2)
    );
    assert_eq!(s.episodes().count(), 1);
    assert_eq!(
        venv.step(BatchAction::Continuous(&a)).unwrap().rewards,
        vec![1.0, 1.0],
        "copy 0 steps on"
    );
}

#[test]
fn vector_env_rejects_bad_batches_without_stepping() {
    let mut venv = make_vec_env("cartpole", Backend::Auto, 0, 3, AutoresetMode::NextStep).unwrap();
    assert!(matches!(
        venv.step(BatchAction::Discrete(&[0, 0, 0])),
        Err(EnvError::ResetNeeded { .. })
    ));
    let r = venv.reset(Some(1)).unwrap();
    assert!(matches!(
        venv.step(BatchAction::Discrete(&[0, 1])),
        Err(EnvError::BatchSize { .. })
    ));
    assert!(matches!(
        venv.step(BatchAction::Discrete(&[0, 1, 2])),
        Err(EnvError::DiscreteOutOfRange { .. })
    ));
    assert!(matches!(
        venv.step(BatchAction::Continuous(&[0.0; 3])),
        Err(EnvError::ActionKind { .. })
    ));
    // Nothing moved: the first valid step equals a fresh run's first step.
    let s = venv.step(BatchAction::Discrete(&[1, 1, 1])).unwrap();
    let mut fresh = make_vec_env("cartpole", Backend::Auto, 0, 3, AutoresetMode::NextStep).unwrap();
    assert_eq!(fresh.reset(Some(1)).unwrap().obs, r.obs);
    assert_eq!(fresh.step(BatchAction::Discrete(&[1, 1, 1])).unwrap(), s);
    let mixed: Vec<Box<dyn Env>> = vec![Box::new(CartPole::new(0)), Box::new(Pendulum::new(0))];
    assert!(matches!(
        SyncVectorEnv::new(mixed, AutoresetMode::NextStep),
        Err(EnvError::IncompatibleSpace { .. })
    ));
    assert!(SyncVectorEnv::<CartPole>::new(vec![], AutoresetMode::NextStep).is_err());
}
