#!/usr/bin/env python3
"""Golden values for Tests/TrainingTests/PPOTests.swift (GAE, advantage normalisation, PPO losses).

numpy only, float64. Written from the formulas of ikostrikov/pytorch-a2c-ppo-acktr as RL4VLM/GTR use them
(docs: gtr-method §4.3, §4.4), independently of the Swift code. Run: python3 scripts/ppo_golden.py
The Swift tests embed the printed numbers.
"""
import numpy as np

np.set_printoptions(precision=17)
GAMMA, LAM = 0.9, 0.95


def gae(rewards, values, dones, last_values, bonus=None):
    """rewards/values/dones: [E][T]; last_values: [E]. Loop in ikostrikov's storage layout: value_preds[T] =
    last value, masks[t+1] = 0 after a done step."""
    E, T = rewards.shape
    adv = np.zeros((E, T)); ret = np.zeros((E, T))
    for e in range(E):
        vp = np.append(values[e], last_values[e])
        masks = np.ones(T + 1)
        masks[1:] = 1.0 - dones[e].astype(float)
        g = 0.0
        for t in reversed(range(T)):
            delta = rewards[e, t] + GAMMA * vp[t + 1] * masks[t + 1] - vp[t]
            g = delta + GAMMA * LAM * masks[t + 1] * g
            ret[e, t] = g + vp[t]
        adv[e] = ret[e] - values[e]
        if bonus is not None:
            adv[e] += bonus[e]; ret[e] += bonus[e]
    return adv, ret


def normalise(a, eps=1e-5):
    a = a.reshape(-1)
    return (a - a.mean()) / (a.std(ddof=1) + eps)   # torch .std() is unbiased


def ppo(new_lp, old_lp, adv, new_v, old_v, ret, clip=0.1, vclip=0.1, vcoef=0.5, guard=None, scope="sample"):
    ratio = np.exp(new_lp - old_lp)
    s1 = ratio * adv
    s2 = np.clip(ratio, 1 - clip, 1 + clip) * adv
    per = np.minimum(s1, s2)
    if guard is not None:
        over = ratio > guard
        if scope == "minibatch" and over.any():
            over[:] = True
        per = np.where(over, s2, per)
    pol = -per.mean()
    vc = old_v + np.clip(new_v - old_v, -vclip, vclip)
    val = 0.5 * np.maximum((new_v - ret) ** 2, (vc - ret) ** 2).mean()
    d = new_lp - old_lp
    kl = (np.exp(d) - 1 - d).mean()
    cf = (np.abs(ratio - 1) > clip).mean()
    return pol, val, pol + vcoef * val, kl, cf


def show(name, v):
    v = np.atleast_1d(np.asarray(v, dtype=float)).reshape(-1)
    print(f"{name} = [" + ", ".join(repr(float(x)) for x in v) + "]")


# --- GAE: 2 envs x 5 steps; env 0 ends an episode at t=2, env 1 ends at its last step (no bootstrap)
rewards = np.array([[0.0, 0.0, 10.0, -1.0, 0.5], [1.0, -1.0, 0.0, 0.0, 5.0]])
values = np.array([[0.5, 1.0, 2.0, 0.0, 0.3], [0.2, -0.4, 0.1, 0.7, 1.5]])
dones = np.array([[False, False, True, False, False], [False, False, False, False, True]])
last = np.array([0.8, 9.0])
adv, ret = gae(rewards, values, dones, last)
show("gaeAdvantages", adv); show("gaeReturns", ret)
show("gaeNormalised", normalise(adv))
bonus = np.array([[5.0, 0.0, 5.0, 5.0, 0.0], [0.0, 5.0, 5.0, 0.0, 5.0]])
badv, bret = gae(rewards, values, dones, last, bonus)
show("bonusAdvantages", badv); show("bonusReturns", bret)

# --- PPO: 6 samples covering every branch (A>0/A<0, ratio inside/below/above the clip range, value clip on/off)
new_lp = np.array([-1.00, -2.05, -0.50, -3.00, -1.20, -0.70])
old_lp = np.array([-1.02, -1.90, -0.80, -2.90, -1.10, -0.72])
advs = np.array([0.7, -1.3, 1.1, -0.4, 0.9, -0.6])
new_v = np.array([0.40, 1.30, -0.20, 2.00, 0.05, 0.90])
old_v = np.array([0.35, 1.00, 0.00, 2.30, 0.10, 0.95])
rets = np.array([1.00, 0.50, 0.30, 2.50, -0.40, 1.20])
p = ppo(new_lp, old_lp, advs, new_v, old_v, rets)
show("ppoRatio", np.exp(new_lp - old_lp))
show("ppo", p)  # policy, value, total, approxKL, clipFraction

# --- ratio guard: sample 1 has ratio e^3 > 10 with A < 0 (the unguarded min() keeps r*A, a huge loss);
# sample 2 has A > 0 and r = e^-0.3 < 0.9, where min() keeps r*A: the literal "minibatch" rule replaces it by surr2
g_new = np.array([-1.00, 1.00, -0.50])
g_old = np.array([-1.05, -2.00, -0.20])
g_adv = np.array([0.5, -0.8, 0.3])
g_v = np.array([0.1, 0.2, 0.3]); g_ov = np.array([0.1, 0.25, 0.2]); g_r = np.array([0.0, 0.5, 1.0])
show("guardOff", ppo(g_new, g_old, g_adv, g_v, g_ov, g_r))
show("guardSample", ppo(g_new, g_old, g_adv, g_v, g_ov, g_r, guard=10.0))
show("guardMinibatch", ppo(g_new, g_old, g_adv, g_v, g_ov, g_r, guard=10.0, scope="minibatch"))
