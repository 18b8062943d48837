import sys, time
import numpy as np
sys.path.insert(0, "/work/main/src")
from gan_pipeline.config.params import load_params
from gan_pipeline.training.loop import train
from gan_pipeline.formats.model_files import load_model
from gan_pipeline.evaluation.probe import QualityProbe
its = int(sys.argv[1]); extra = dict(a.split("=") for a in sys.argv[2:])
p = load_params("/work/main/params.yaml")
model = p.model.model_copy(update={"arch": "lapgan"})
tr = p.train.model_copy(update={"iterations": its, "adam": p.train.adam.model_copy(update={
    "learning_rate": 2e-4, "beta_1": 0.5, "discriminator_learning_rate": float(extra.get("dlr", 0)) or None}),
    "label_smoothing": float(extra.get("ls", 0)), "r1_gamma": float(extra.get("r1", 0)),
    "fused_generator_pass": extra.get("fused") == "1",
    "batch_size": int(extra.get("batch", 128)), "eval_interval": 300, "sample_interval": its})
d = np.load("/work/main/data/prepared/dataset.npz")
clf = load_model("/work/main/models/classifier.keras")
res = train(model, tr, p.runtime.train, d["x_train"],
            make_probe=lambda: QualityProbe(clf, d["x_test"], 1000, 100, 42),
            on_quality=lambda r: print("Q", r.quality[-1].iteration, round(r.quality[-1].fid, 1), round(r.quality[-1].classifier_score, 2), flush=True))
