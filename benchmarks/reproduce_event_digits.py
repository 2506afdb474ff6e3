"""Event-based digits: accuracy and updates per unit of the Phased LSTM vs an LSTM.

scikit-learn's 8 x 8 digits become streams of asynchronous ON/OFF events
(``sk_plstm.datasets.make_event_digits``, in the spirit of N-MNIST, no download). Both
models are trained alike (110 units, Adam, lr 1e-2, batch 32, inputs not standardised:
they are one-hot events). Besides accuracy, the script reports the updates per unit on
the test set: the number of events at which a unit's time gate is open (the Phased LSTM,
``update_counts``) against every event (the LSTM). Usage::

    python benchmarks/reproduce_event_digits.py --setting quick|medium|full [--jobs 2]

Writes ``docs/reproduction/event_digits_<setting>[_fixed_r_on].md`` and the ``.png`` beside it.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import LSTMBaselineClassifier  # noqa: E402
from _reproduce import (  # noqa: E402
    PAPER_NETWORK,
    chosen,
    final_scores,
    learning_curves,
    mean_sd,
    mean_seconds,
    parser,
    publish,
    resolve,
    updates_per_unit,
)
from reproduce_frequency import accuracy  # noqa: E402

from sk_plstm import PhasedLSTMClassifier  # noqa: E402
from sk_plstm.datasets import make_event_digits  # noqa: E402

SETTINGS = {
    "quick": {"n_samples": 300, "epochs": 3, "seeds": 1},
    "medium": {"n_samples": 1797, "epochs": 20, "seeds": 1},
    "full": {"n_samples": 1797, "epochs": 50, "seeds": 3},
}
COMMON = {"hidden_size": 110, "lr": 1e-2, "batch_size": 32, "standardize": False}


def updates(estimator, X_test) -> dict:
    """Mean updates per unit per test stream (an LSTM updates at every event)."""
    return {"updates": updates_per_unit(estimator, X_test, np.mean([len(x) for x in X_test]))}


def main(argv=None) -> dict:
    cli = parser(__doc__.splitlines()[0], SETTINGS)
    cli.add_argument(
        "--fixed-r-on", action="store_true", help="keep r_on at 0.05 instead of learning it"
    )
    args = cli.parse_args(argv)
    setting = resolve(args, SETTINGS)
    setting["learn_r_on"] = not args.fixed_r_on
    stem = f"event_digits_{args.setting}" + ("_fixed_r_on" if args.fixed_r_on else "") + args.name
    gate = {"tau_range": (2.0, 50.0), "r_on": 0.05, "learn_r_on": not args.fixed_r_on}
    gate.update(PAPER_NETWORK)
    gate.update(args.plstm_params)
    X, y = make_event_digits(setting["n_samples"], random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    models = {
        "Phased LSTM": lambda seed: PhasedLSTMClassifier(**COMMON, **gate, random_state=seed),
        "LSTM": lambda seed: LSTMBaselineClassifier(**COMMON, random_state=seed),
    }
    results = learning_curves(
        chosen(models, args),
        (X_train, y_train, X_test, y_test),
        setting["epochs"],
        setting["seeds"],
        accuracy,
        args.jobs,
        extra=updates,
    )
    events = np.mean([len(x) for x in X_test])
    lines = [
        f"{len(y_train)} training and {len(y_test)} test streams of {events:.0f} events on "
        f"average. The Phased LSTM: {', '.join(f'{k}={v}' for k, v in gate.items())}. "
        "Test accuracy (%) and updates per unit per stream, mean +- sd over seeds.",
        "",
        "| model | accuracy after the last epoch | updates per unit | share of the LSTM's "
        "| fit time per run (s) |",
        "|---|---|---|---|---|",
    ]
    lstm_updates = events  # an LSTM updates every unit at every event
    for name, runs in results.items():
        u = [r["updates"] for r in runs]
        lines.append(
            f"| {name} | {mean_sd(final_scores(runs), 100)} | {mean_sd(u, digits=1)} "
            f"| {np.mean(u) / lstm_updates:.1%} | {mean_seconds(runs):.0f} |"
        )
    lines += [
        "",
        "The paper reports, on N-MNIST, 159 updates per unit for the Phased LSTM against 3153 "
        "for the LSTM (5%) at equal or better accuracy.",
    ]
    publish(
        args,
        stem,
        "Event-based digits",
        setting,
        {"event digits": results},
        "test accuracy",
        lines,
        __file__,
        argv,
    )
    return results


if __name__ == "__main__":
    main()
