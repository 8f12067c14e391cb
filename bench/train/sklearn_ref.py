#!/usr/bin/python3
"""scikit-learn reference for bench-train.ts: fit a RandomForestClassifier on the CSVs the bench
wrote, print one JSON line with fit seconds and held-out ROC AUC.

Usage: sklearn_ref.py TRAIN_CSV TEST_CSV N_ESTIMATORS MAX_DEPTH N_JOBS MAX_FEATURES SEED
CSV: no header, label in the last column. Run with Debian's /usr/bin/python3 (python3-sklearn).
"""
import json
import sys
import time

try:
    import numpy as np
    import sklearn
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
except ImportError as exc:  # the bench prints the install hint
    print(json.dumps({"error": f"missing module: {exc.name}"}))
    sys.exit(3)


def load(path):
    data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return data[:, :-1], data[:, -1].astype(np.int64)


def main():
    train_csv, test_csv, n_estimators, max_depth, n_jobs, max_features, seed = sys.argv[1:8]
    x_train, y_train = load(train_csv)
    x_test, y_test = load(test_csv)
    try:
        max_features = float(max_features)
    except ValueError:
        pass  # 'sqrt' / 'log2'
    model = RandomForestClassifier(
        n_estimators=int(n_estimators),
        max_depth=None if max_depth == "none" else int(max_depth),
        n_jobs=int(n_jobs),
        max_features=max_features,
        random_state=int(seed),
    )
    t0 = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - t0
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    print(json.dumps({"sklearn": sklearn.__version__, "train_seconds": seconds, "auc": auc}))


if __name__ == "__main__":
    main()
